// The URL of one approval's page (`step_up.approval_url`), carried by the webhook event and the
// MCP URL elicitation. By default the console on the admin listener, at the address it is bound
// to: known only once it listens (port 0 in tests, `--admin-listen` on the command line).

import type { AddressInfo } from 'node:net';

export const ID_PLACEHOLDER = '{id}';

/** The template in force: the configured one, or the admin listener's `/console/approvals/{id}`. */
export function approvalUrlTemplate(configured: string | undefined, admin: AddressInfo): string {
  if (configured !== undefined) return configured;
  const host = admin.family === 'IPv6' ? `[${admin.address}]` : admin.address;
  return `http://${host}:${admin.port}/console/approvals/${ID_PLACEHOLDER}`;
}

export function approvalUrl(template: string, id: string): string {
  return template.replaceAll(ID_PLACEHOLDER, encodeURIComponent(id));
}
