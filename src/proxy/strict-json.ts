// A strict reader for JSON request bodies. `JSON.parse` alone hides what other parsers read
// differently: it keeps the last of duplicate keys (many parsers keep the first), rounds numbers
// (`9007199254740993`, `1e400` → null once serialized, `-0` → 0), accepts lone surrogate escapes
// and, on a Buffer decoded as UTF-8, replaces invalid bytes with U+FFFD. One pass over the bytes
// finds each of these, and what only a lenient decoder would read (a BOM, UTF-16/32, trailing
// data or a second value, NaN/Infinity); `JSON.parse` (native) then builds the value. The pass
// costs about twice the parse (bench/body-parse.ts, bench/HISTORY.md): keys go through a Set.

import { Buffer, isUtf8 } from 'node:buffer';

/**
 * - `syntax`: no JSON parser reads it (`{ hello`): not JSON.
 * - `lenient`: strict JSON rejects it, lenient decoders read a value (BOM, UTF-16/32, trailing data, NaN).
 * - `ambiguous`: valid JSON whose meaning depends on the parser (duplicate keys, numbers, surrogates, bad UTF-8).
 * - `depth`: nested deeper than allowed.
 */
export type JsonFault = 'syntax' | 'lenient' | 'ambiguous' | 'depth';

export type JsonReading = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly fault: JsonFault; readonly why: string };

export interface StrictJsonOptions {
  readonly maxDepth: number;
  /** Accept any top-level value; otherwise only an object or array (a body sniffed as JSON). */
  readonly anyValue: boolean;
}


class Fault {
  constructor(
    readonly fault: JsonFault,
    readonly why: string,
  ) {}
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(t: string, i: number): number {
  if (i + 4 > t.length) return -1;
  let v = 0;
  for (let k = i; k < i + 4; k++) {
    const c = t.charCodeAt(k);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** The encoding a lenient decoder would detect from a BOM or the NUL pattern of RFC 4627 §3. */
function foreignEncoding(b: Buffer): 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be' | undefined {
  const [a, c, d, e] = [b[0], b[1], b[2], b[3]];
  if (a === 0xef && c === 0xbb && d === 0xbf) return 'utf-8-bom';
  if (a === 0x00 && c === 0x00 && (d === 0xfe && e === 0xff || d === 0x00 && e !== 0x00 && b.length >= 4)) return 'utf-32be';
  if (a === 0xff && c === 0xfe && d === 0x00 && e === 0x00) return 'utf-32le';
  if (a !== 0x00 && c === 0x00 && d === 0x00 && e === 0x00 && b.length >= 4) return 'utf-32le';
  if (a === 0xfe && c === 0xff) return 'utf-16be';
  if (a === 0xff && c === 0xfe) return 'utf-16le';
  // Without a BOM, only when the first character is ASCII (RFC 4627): a binary body is not JSON.
  if (b.length >= 2 && a === 0x00 && c !== 0x00 && c! < 0x80) return 'utf-16be';
  if (b.length >= 2 && a !== 0x00 && a! < 0x80 && c === 0x00) return 'utf-16le';
  return undefined;
}

function decodeForeign(b: Buffer, enc: NonNullable<ReturnType<typeof foreignEncoding>>): Buffer | undefined {
  try {
    if (enc === 'utf-8-bom') return b.subarray(3);
    if (enc === 'utf-16le' || enc === 'utf-16be') return Buffer.from(new TextDecoder(enc, { fatal: true }).decode(b), 'utf8');
    if (b.length % 4 !== 0) return undefined;
    let s = '';
    for (let i = 0; i < b.length; i += 4) {
      const cp = enc === 'utf-32le' ? b.readUInt32LE(i) : b.readUInt32BE(i);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
      s += String.fromCodePoint(cp);
    }
    return Buffer.from(s.charCodeAt(0) === 0xfeff ? s.slice(1) : s, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The scan over the decoded text (charCodeAt stays in JS, where a Buffer's slicing would cross into
 * C++ on every key): throws a Fault, or returns when `t` is one strict JSON value.
 */
class Scanner {
  i = 0;

  constructor(
    readonly t: string,
    readonly maxDepth: number,
  ) {}

  /** The code unit at `i`, NaN past the end (charCodeAt's own answer). */
  at(i: number): number {
    return this.t.charCodeAt(i);
  }

  ws(): void {
    while (isWs(this.t.charCodeAt(this.i))) this.i++;
  }

  fail(fault: JsonFault, why: string): never {
    throw new Fault(fault, why);
  }

  /** Reads the string at `i` (on its opening quote); returns its decoded text when `want`. */
  string(want: boolean): string | undefined {
    const t = this.t;
    const start = ++this.i;
    let i = start;
    let escaped = false;
    // A plain loop: most strings (keys above all) are short, where indexOf's call costs more.
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i = this.escape(i + 1);
      } else if (c !== c) this.fail('syntax', 'unterminated string'); // NaN: past the end
      else i++;
    }
    this.i = i + 1;
    if (!want) return undefined;
    return escaped ? (JSON.parse(t.slice(start - 1, this.i)) as string) : t.slice(start, i);
  }

  /** One escape after its backslash; returns the position after it. */
  escape(i: number): number {
    const c = this.at(i);
    if (c !== 0x75) {
      // " \ / b f n r t
      if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) return i + 1;
      this.fail('syntax', 'bad escape');
    }
    const u = hex4(this.t, i + 1);
    if (u < 0) this.fail('syntax', 'bad \\u escape');
    if (u >= 0xdc00 && u <= 0xdfff) this.fail('ambiguous', 'lone surrogate escape');
    if (u >= 0xd800 && u <= 0xdbff) {
      const lo = this.at(i + 5) === 0x5c && this.at(i + 6) === 0x75 ? hex4(this.t, i + 7) : -1;
      if (lo < 0xdc00 || lo > 0xdfff) this.fail('ambiguous', 'lone surrogate escape');
      return i + 11;
    }
    return i + 5;
  }

  number(): void {
    const t = this.t;
    const start = this.i;
    if (t.charCodeAt(this.i) === 0x2d) {
      this.i++;
      if (t.charCodeAt(this.i) === 0x49) this.fail('lenient', 'Infinity is not JSON');
    }
    const intStart = this.i;
    if (t.charCodeAt(this.i) === 0x30) this.i++;
    else if (isDigit(t.charCodeAt(this.i))) while (isDigit(t.charCodeAt(this.i))) this.i++;
    else this.fail('syntax', 'bad number');
    const intEnd = this.i;
    let fracEnd = intEnd;
    let plain = true;
    if (t.charCodeAt(this.i) === 0x2e) {
      plain = false;
      this.i++;
      if (!isDigit(t.charCodeAt(this.i))) this.fail('syntax', 'bad number');
      while (isDigit(t.charCodeAt(this.i))) this.i++;
      fracEnd = this.i;
    }
    const e = t.charCodeAt(this.i);
    if (e === 0x65 || e === 0x45) {
      plain = false;
      this.i++;
      const sign = t.charCodeAt(this.i);
      if (sign === 0x2b || sign === 0x2d) this.i++;
      if (!isDigit(t.charCodeAt(this.i))) this.fail('syntax', 'bad number');
      while (isDigit(t.charCodeAt(this.i))) this.i++;
    }
    const digits = fracEnd - intStart - (fracEnd > intEnd ? 1 : 0);
    // Short plain integers (the common case) change in no parser: skip the checks below.
    if (plain && digits <= 15 && start === intStart) return;
    this.checkNumber(t.slice(start, this.i), t.slice(intStart, intEnd) + t.slice(intEnd + 1, fracEnd), plain);
  }

  /** A number whose value the policy would see changed: -0, overflow, underflow, lost digits. */
  checkNumber(token: string, mantissa: string, plain: boolean): void {
    const sig = mantissa.replace(/^0+/, '').replace(/0+$/, '');
    const v = Number(token);
    if (sig === '') {
      if (token.startsWith('-')) this.fail('ambiguous', 'negative zero');
      return;
    }
    if (!Number.isFinite(v)) this.fail('ambiguous', 'number overflows a double');
    if (v === 0) this.fail('ambiguous', 'number underflows to zero');
    if (plain && !Number.isSafeInteger(v)) this.fail('ambiguous', 'integer beyond 2^53');
    if (sig.length <= 15 && Math.abs(v) >= 2.2250738585072014e-308) return;
    const shortest = (/^-?([0-9.]+)/.exec(Math.abs(v).toExponential())?.[1] ?? '').replace('.', '').replace(/0+$/, '');
    if (shortest !== sig) this.fail('ambiguous', 'number loses precision');
  }

  literal(word: string): void {
    if (!this.t.startsWith(word, this.i)) this.fail('syntax', 'bad literal');
    this.i += word.length;
  }

  /** A key with its colon; duplicate keys of one object are ambiguous. */
  key(keys: Set<string>): void {
    this.ws();
    if (this.at(this.i) !== 0x22) this.fail('syntax', 'expected a key');
    const k = this.string(true)!;
    const size = keys.size;
    if (keys.add(k).size === size) this.fail('ambiguous', 'duplicate key'); // one hash lookup, not two
    this.ws();
    if (this.at(this.i) !== 0x3a) this.fail('syntax', 'expected a colon');
    this.i++;
  }

  run(): void {
    const t = this.t;
    const n = t.length;
    // One Set per open object (its keys), null per open array.
    const stack: (Set<string> | null)[] = [];
    for (;;) {
      // A value is expected at i.
      this.ws();
      const c = t.charCodeAt(this.i);
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= this.maxDepth) this.fail('depth', `nested deeper than ${this.maxDepth}`);
        this.i++;
        this.ws();
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (t.charCodeAt(this.i) === close) this.i++;
        else {
          const keys = c === 0x7b ? new Set<string>() : null;
          stack.push(keys);
          if (keys) this.key(keys);
          continue;
        }
      } else if (c === 0x22) this.string(false);
      else if (c === 0x2d || isDigit(c)) this.number();
      else if (c === 0x74) this.literal('true');
      else if (c === 0x66) this.literal('false');
      else if (c === 0x6e) this.literal('null');
      else if (c === 0x4e || c === 0x49) this.fail('lenient', 'NaN and Infinity are not JSON');
      else this.fail('syntax', this.i >= n ? 'unexpected end' : 'unexpected character');
      // After a value: close containers, or move to the next element.
      for (;;) {
        this.ws();
        if (stack.length === 0) {
          if (this.i < n) this.fail('lenient', 'data after the JSON value');
          return;
        }
        const top = stack[stack.length - 1]!;
        const d = t.charCodeAt(this.i);
        if (d === 0x2c) {
          this.i++;
          if (top) this.key(top);
          break;
        }
        if (d === (top ? 0x7d : 0x5d)) {
          this.i++;
          stack.pop();
          continue;
        }
        this.fail('syntax', 'expected a comma or a closing bracket');
      }
    }
  }
}

function scan(b: Buffer, opts: StrictJsonOptions): JsonReading {
  let first = 0;
  while (first < b.length && isWs(b[first]!)) first++;
  if (!opts.anyValue && b[first] !== 0x7b && b[first] !== 0x5b) return { ok: false, fault: 'syntax', why: 'not an object or array' };
  if (!isUtf8(b)) return { ok: false, fault: 'ambiguous', why: 'invalid UTF-8' };
  const text = b.toString('utf8');
  try {
    new Scanner(text, opts.maxDepth).run();
  } catch (err) {
    if (err instanceof Fault) return { ok: false, fault: err.fault, why: err.why };
    throw err;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    // What the scan lets through (a raw control character in a string) JSON.parse refuses.
    return { ok: false, fault: 'syntax', why: (err as Error).message };
  }
}

/** Read `b` as one strict JSON value; anything another parser could read differently is a fault. */
export function readStrictJson(b: Buffer, opts: StrictJsonOptions): JsonReading {
  const enc = b.length > 0 ? foreignEncoding(b) : undefined;
  if (enc) {
    // A lenient decoder would transcode and read on: if that yields JSON, the body is ambiguous.
    const decoded = decodeForeign(b, enc);
    if (decoded === undefined) return { ok: false, fault: 'syntax', why: `not valid ${enc}` };
    const inner = scan(decoded, opts);
    return inner.ok || inner.fault !== 'syntax' ? { ok: false, fault: 'lenient', why: `JSON in ${enc}` } : inner;
  }
  return scan(b, opts);
}
