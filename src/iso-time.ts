// ISO 8601 text of a time in unix ms, formatted again only when the time changes: on the request
// path the same times repeat (the decision line's timestamp within a millisecond, a task's end).

/** A formatter that keeps the last time it formatted and its text. */
export function isoTimeFormatter(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastText = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastText = new Date(ms).toISOString();
    }
    return lastText;
  };
}
