// Prints vitest's totals as the plain closing line 'N passed, N failed' (read by CI tooling).
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../test/.artifacts/vitest.json', import.meta.url), 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
process.stdout.write(`\n${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = report.numFailedTests > 0 || report.numTotalTests === 0 ? 1 : 0;
