// ISO 8601 text of a time in unix ms, as Date#toISOString writes it. On the request path the same
// second repeats (the decision line's timestamp, the policy input's time, a task's end): its text
// up to the milliseconds is formatted once a second and only the milliseconds are written after.

/** Unix ms from 0 (1970) up to the end of year 9999: `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
const MAX_PLAIN_MS = 253402300799999;

/** A formatter that keeps the text of the last second it formatted. */
export function isoTimeFormatter(): (ms: number) => string {
  let second = Number.NaN;
  /** `YYYY-MM-DDTHH:MM:SS.` of `second`. */
  let head = '';
  return (ms) => {
    // Outside the plain four-digit years, or not a whole ms: the Date does it (and throws for NaN).
    if (!(ms >= 0 && ms <= MAX_PLAIN_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      head = new Date(s * 1000).toISOString().slice(0, 20);
    }
    const milli = ms - s * 1000;
    return `${head}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  };
}
