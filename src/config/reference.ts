// The configuration reference (docs/configuration.md), generated from the one schema.

import { configSchema } from './schema.js';
import { renderReference } from './schema-dsl.js';

export function configReference(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
    'Unknown keys are refused and the key at fault is named. Durations are written `500ms`, `30s`, `10m`, `1h`.',
    'Secrets (`admin.token`, lane values, `step_up.webhook.secret`) must be `${env:NAME}` or `${file:PATH}` references;',
    'relative paths are taken from the configuration file\'s directory.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...renderReference(configSchema),
    '',
  ].join('\n');
}
