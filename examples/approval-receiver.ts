// A reference approval receiver: verifies `Warden-Signature` over the raw body, prints the
// approval request, and decides by APPROVE=always|never|manual. In manual mode it answers 202
// and prints the admin API calls that approve or deny.
//
//   WARDEN_WEBHOOK_SECRET=... APPROVE=manual npx tsx examples/approval-receiver.ts
//   env: PORT (8787), HOST (127.0.0.1), WARDEN_ADMIN_URL (http://127.0.0.1:8181)

import { createServer, type IncomingMessage } from 'node:http';
import { verifySignature } from '../src/stepup/signature.js';

const secret = process.env.WARDEN_WEBHOOK_SECRET ?? '';
const mode = process.env.APPROVE ?? 'manual';
const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';
const adminUrl = (process.env.WARDEN_ADMIN_URL ?? 'http://127.0.0.1:8181').replace(/\/$/, '');
const MAX_BODY = 1024 * 1024;

if (secret === '') {
  console.error('set WARDEN_WEBHOOK_SECRET to the secret of step_up.webhook.secret');
  process.exit(2);
}
if (!['always', 'never', 'manual'].includes(mode)) {
  console.error('APPROVE must be always, never or manual');
  process.exit(2);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const server = createServer((req, res) => {
  const answer = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  void (async () => {
    if (req.method !== 'POST') return answer(405, { error: 'method not allowed' });
    const raw = await readBody(req);
    if (!raw) return answer(413, { error: 'body too large' });
    // Verify the raw bytes before parsing: the MAC is over exactly what Warden sent.
    if (!verifySignature(secret, req.headers['warden-signature'] as string | undefined, raw)) {
      console.warn(`refused: bad or stale Warden-Signature from ${req.socket.remoteAddress}`);
      return answer(401, { error: 'invalid signature' });
    }
    const event = JSON.parse(raw.toString('utf8')) as { type: string; approval: { id: string; expires_at: string } };
    console.log(JSON.stringify(event, null, 2));
    if (mode === 'always') return answer(200, { decision: 'approve', approver: 'approval-receiver', reason: 'APPROVE=always' });
    if (mode === 'never') return answer(200, { decision: 'deny', approver: 'approval-receiver', reason: 'APPROVE=never' });
    const id = event.approval.id;
    const auth = '-H "Authorization: Bearer $WARDEN_ADMIN_TOKEN" -H "content-type: application/json"';
    console.log(`approval ${id} expires at ${event.approval.expires_at}; to decide:`);
    console.log(`  curl -X POST ${auth} -d '{"approver":"'"$USER"'","reason":"looks right"}' ${adminUrl}/v1/approvals/${id}/approve`);
    console.log(`  curl -X POST ${auth} -d '{"approver":"'"$USER"'","reason":"not this one"}' ${adminUrl}/v1/approvals/${id}/deny`);
    return answer(202, { status: 'accepted' });
  })().catch((err: unknown) => {
    console.error('receiver error', err);
    if (!res.headersSent) answer(400, { error: 'bad request' });
  });
});

server.listen(port, host, () => console.log(`approval receiver on http://${host}:${port} (APPROVE=${mode})`));
