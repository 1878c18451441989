// The file digests of OPA's bundle signatures. A structured file (data.json, .manifest) is hashed
// over a canonical form so that whitespace and key order do not matter: `{` then each key in
// byte order as a JSON string, `:`, the value, `,` between items, `}`; arrays alike; strings and
// other primitives as Go's encoding/json writes them. Numbers keep their literal text (OPA reads
// them as json.Number), so `1.0` and `1` differ, as they do for `opa build --signing-key`.
// Every other file is hashed as its raw bytes.

import { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';

/** OPA's names → node's. */
const ALGORITHMS: Record<string, string> = {
  'MD5': 'md5',
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256',
};

/** Files OPA reads as structured documents (bundle.IsStructuredDoc). */
export function isStructured(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base === 'data.json' || base === '.manifest' || base === '.signatures.json';
}

/** Hex digest of one bundle file as OPA computes it; throws on an unknown algorithm or bad JSON. */
export function bundleFileDigest(path: string, content: Buffer, algorithm: string): string {
  const name = ALGORITHMS[algorithm];
  if (!name) throw new Error(`unsupported hashing algorithm: ${algorithm}`);
  const hash = createHash(name);
  if (isStructured(path)) new CanonicalWalker(content.toString('utf8'), hash).run();
  else hash.update(content);
  return hash.digest('hex');
}

// Go's encoder escapes U+2028 and U+2029 even with HTML escaping off; JSON.stringify does not.
const goString = (s: string): string => JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

/** A JSON reader that builds the canonical text (keeping number literals) and hashes it. */
class CanonicalWalker {
  #i = 0;
  constructor(private readonly text: string, private readonly out: Hash) {}

  run(): void {
    this.#ws();
    this.out.update(this.#value());
    this.#ws();
    if (this.#i !== this.text.length) this.#fail('trailing data');
  }

  #fail(why: string): never {
    throw new Error(`invalid JSON at offset ${this.#i}: ${why}`);
  }

  #ws(): void {
    while (this.#i < this.text.length && ' \t\n\r'.includes(this.text[this.#i]!)) this.#i++;
  }

  #expect(ch: string): void {
    if (this.text[this.#i] !== ch) this.#fail(`expected ${ch}`);
    this.#i++;
  }

  #value(): string {
    const ch = this.text[this.#i];
    if (ch === '{') return this.#object();
    if (ch === '[') return this.#array();
    if (ch === '"') return goString(this.#string());
    for (const re of [NUMBER, LITERAL]) {
      re.lastIndex = this.#i;
      const m = re.exec(this.text);
      if (m) {
        this.#i += m[0].length;
        return m[0];
      }
    }
    return this.#fail('unexpected character');
  }

  #string(): string {
    const start = this.#i;
    this.#i++;
    while (this.#i < this.text.length) {
      const c = this.text[this.#i];
      if (c === '\\') this.#i += 2;
      else if (c === '"') {
        this.#i++;
        try {
          return JSON.parse(this.text.slice(start, this.#i)) as string;
        } catch {
          this.#fail('bad string');
        }
      } else this.#i++;
    }
    return this.#fail('unterminated string');
  }

  #array(): string {
    this.#expect('[');
    const parts: string[] = [];
    this.#ws();
    if (this.text[this.#i] === ']') {
      this.#i++;
      return '[]';
    }
    for (;;) {
      this.#ws();
      parts.push(this.#value());
      this.#ws();
      if (this.text[this.#i] === ',') this.#i++;
      else break;
    }
    this.#expect(']');
    return `[${parts.join(',')}]`;
  }

  #object(): string {
    this.#expect('{');
    const members = new Map<string, string>();
    this.#ws();
    if (this.text[this.#i] === '}') {
      this.#i++;
      return '{}';
    }
    for (;;) {
      this.#ws();
      if (this.text[this.#i] !== '"') this.#fail('expected a key');
      const key = this.#string();
      this.#ws();
      this.#expect(':');
      this.#ws();
      // A repeated key keeps the last value, as Go's decoder does.
      members.set(key, this.#value());
      this.#ws();
      if (this.text[this.#i] === ',') this.#i++;
      else break;
    }
    this.#expect('}');
    // Go sorts keys as byte strings (UTF-8), not as UTF-16 code units.
    const keys = [...members.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${keys.map((k) => `${goString(k)}:${members.get(k)!}`).join(',')}}`;
  }
}
