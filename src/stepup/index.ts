// Public pieces of step-up approvals. signature.ts is also what approval receivers import.

export { signPayload, verifySignature, SIGNATURE_HEADER, type VerifyOptions } from './signature.js';
export { bindingDigest, bindingFromInput, canonicalJson, type CallBinding } from './binding.js';
export { buildSummary, maskQuery, bodyPreview, REDACTED, type RequestSummary } from './summary.js';
export { APPROVAL_STATUSES, type Approval, type ApprovalStatus, type NewApproval } from '../store/approvals.js';
export { approvalView } from './approval-view.js';
export { WebhookClient, parseWebhookDecision, type WebhookConfig, type WebhookDecision, type DeliveryResult, type StepUpLogger } from './webhook.js';
export {
  StepUpManager,
  type StepUpConfig,
  type StepUpManagerOptions,
  type StepUpRequest,
  type ApprovalEvent,
  type ApprovalEventName,
  type WaitResult,
} from './manager.js';
