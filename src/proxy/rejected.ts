// Requests Node's HTTP parser refuses before the handler runs — malformed framing (a request
// smuggling attempt: two Content-Lengths, Transfer-Encoding with Content-Length), headers over
// Node's limit, headers that never finish, an `Expect` other than 100-continue. Node would answer
// them itself and no decision-log line would show them; every request Warden receives is
// accounted for, so each gets a coded answer and exactly one decision-log line here.

import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Metrics } from '../observability/metrics.js';
import type { DecisionLog } from '../audit/decision-log.js';
import { ERRORS, WardenError, type ErrorCode } from '../errors.js';
import { account, recordOf } from './record.js';
import { sendError } from './respond.js';

export interface RejectedDeps {
  readonly log: DecisionLog;
  readonly metrics: Metrics;
  /** The policy entrypoint, the `path` of every decision line. */
  readonly entrypoint: string;
}

type ParserError = Error & { code?: string; bytesParsed?: number; rawPacket?: Buffer };

/** The coded answer to a parser error; undefined when no request had begun (a reset idle socket). */
export function clientErrorCode(err: ParserError): ErrorCode | undefined {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return (err.bytesParsed ?? 0) > 0 || (err.rawPacket?.length ?? 0) > 0 ? 'REQUEST_MALFORMED' : undefined;
  return 'REQUEST_MALFORMED';
}

/** One decision-log line for a request refused with `error` before the pipeline ran. */
function record(deps: RejectedDeps, decisionId: string, error: WardenError, method: string | undefined, answered: boolean): void {
  const rec = recordOf({ kind: 'error', known: {}, error }, { status: answered ? error.status : 0 }, { decisionId, entrypoint: deps.entrypoint, method: method ?? '', durationMs: 0, clientGone: !answered });
  if (method === undefined) delete rec.method; // the request line was not readable
  account(deps.log, deps.metrics, rec);
}

/** The server's 'clientError' listener. */
export function onClientError(deps: RejectedDeps): (err: ParserError, socket: Duplex) => void {
  return (err, socket) => {
    const code = clientErrorCode(err);
    if (code === undefined) {
      socket.destroy();
      return;
    }
    const decisionId = randomUUID();
    const answered = socket.writable && !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    const { status } = ERRORS[code];
    record(deps, decisionId, new WardenError(code), undefined, answered);
    if (!answered) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ ...new WardenError(code).toPublic(), decision_id: decisionId });
    socket.end(
      `HTTP/1.1 ${status} ${statusText(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n` +
        `warden-decision-id: ${decisionId}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
}

function statusText(status: number): string {
  return { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status] ?? 'Error';
}

/** The server's 'checkExpectation' listener: an `Expect` other than 100-continue. */
export function onExpectation(deps: RejectedDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const decisionId = randomUUID();
    const err = new WardenError('EXPECTATION_FAILED', 'unsupported Expect');
    record(deps, decisionId, err, req.method ?? 'GET', true);
    req.resume();
    sendError(res, err, decisionId, { connection: 'close' });
  };
}
