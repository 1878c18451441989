// `warden replay --config FILE --bundle CANDIDATE LOG...` (DESIGN.md "Command line").

import { loadConfigFile } from '../config/load.js';
import { PolicyEngine } from '../policy/engine.js';
import { describeReplay, replay } from '../audit/replay.js';
import { readLogLines, type CommandOutput } from './audit.js';

export async function replayCommand(configFile: string, bundle: string, files: readonly string[]): Promise<CommandOutput> {
  const { config } = loadConfigFile(configFile);
  const engine = new PolicyEngine({ entrypoint: config.policy.entrypoint, maxMemoryPages: config.policy.max_memory_pages });
  const snapshot = await engine.load(bundle);
  const lines: string[] = [];
  for await (const l of readLogLines(files)) lines.push(l.text);
  const report = replay(lines, (json) => {
    const d = engine.evaluate(json).decision;
    return { decision: d.decision, ...('lane' in d && d.lane && { lane: d.lane }), ...(d.reason !== undefined && { reason: d.reason }) };
  });
  return { output: describeReplay(report, { candidate: snapshot.revision }), exitCode: report.changed_total > 0 ? 1 : 0 };
}
