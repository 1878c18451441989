// Lane configurations for test upstreams. Warden refuses literal secrets in its configuration, so
// every lane value names its secret by reference: an environment variable (`${env:NAME}`) the test
// sets, or a file (`${file:PATH}`) it writes.

/** A lane: the header Warden injects toward the upstream and its value (with a secret reference). */
export interface Lane {
  header: string;
  value: string;
}

/** Where a lane's secret comes from: the name of an environment variable, or a file. */
export type Secret = string | { file: string };

/** The configuration reference to a secret: `${env:NAME}` or `${file:PATH}`. */
export function secretRef(secret: Secret): string {
  return typeof secret === 'string' ? `\${env:${secret}}` : `\${file:${secret.file}}`;
}

/** One lane that sends `header: <scheme><secret>`. */
export function lane(header: string, secret: Secret, scheme = ''): Lane {
  return { header, value: `${scheme}${secretRef(secret)}` };
}

/** Lanes that all send the same header with the bare secret, e.g. `x-api-key: ${env:TOOLS_READ}`. */
export function headerLanes<K extends string>(header: string, secrets: Record<K, Secret>): Record<K, Lane> {
  return Object.fromEntries(Object.entries<Secret>(secrets).map(([name, secret]) => [name, lane(header, secret)])) as Record<K, Lane>;
}

/**
 * Lanes that all send `authorization: Bearer <secret>`:
 * `bearerLanes({ read: 'GH_READ' })` is `{ read: { header: 'authorization', value: 'Bearer ${env:GH_READ}' } }`.
 */
export function bearerLanes<K extends string>(secrets: Record<K, Secret>): Record<K, Lane> {
  return Object.fromEntries(Object.entries<Secret>(secrets).map(([name, secret]) => [name, lane('authorization', secret, 'Bearer ')])) as Record<K, Lane>;
}
