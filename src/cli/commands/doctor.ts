/**
 * `chat4all doctor`: checks that the database, Kafka, Redis and S3 this configuration names answer,
 * and which versions they run. Exit 0 when every configured service answered, 1 otherwise.
 * Meant for `kubectl exec deploy/api -- chat4all doctor`: it reads the pod's own environment.
 */
import type { Config } from '../../config.ts';
import type { CommandSpec } from '../commands.ts';
import type { Parsed } from '../args.ts';

export const DOCTOR_SPEC: CommandSpec = {
  usage: ['chat4all doctor [--json]'],
  details:
    'Connects to the database, Kafka, Redis and S3 as configured (services that are not configured are\nlisted as such), prints what answered and its version, and exits 0 when all answered, 1 otherwise.',
  options: { json: { type: 'boolean', help: 'one JSON document on stdout instead of the table' } },
  isTakingArguments: false,
};

export interface DoctorCheck {
  name: string;
  configured: boolean;
  ok: boolean;
  target?: string;
  /** What answered (versions), when it did. */
  detail?: string;
  /** Why not, when it did not. */
  error?: string;
  latency_ms?: number;
}

/** Milliseconds one service may take to answer before it counts as unreachable. */
const TIMEOUT_MS = 5000;
/** Opening the embedded database takes seconds on a busy machine; nothing remote to wait for. */
const LOCAL_TIMEOUT_MS = 60_000;

export async function doctor(parsed: Parsed, config: Config): Promise<number> {
  // Loaded here: --help and usage errors answer without the adapters' modules.
  const { serviceProbes } = await import('../../compose.ts');
  const { probes, unconfigured } = serviceProbes(config);
  const checks: DoctorCheck[] = await Promise.all(
    probes.map(async (probe): Promise<DoctorCheck> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        const ms = probe.isLocal ? LOCAL_TIMEOUT_MS : TIMEOUT_MS + 1000;
        timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms / 1000)} s`)), ms);
      });
      try {
        const detail = await Promise.race([probe.run(TIMEOUT_MS), deadline]);
        return { name: probe.name, configured: true, ok: true, target: probe.target, detail, latency_ms: elapsed(started) };
      } catch (e) {
        return { name: probe.name, configured: true, ok: false, target: probe.target, error: reason(e), latency_ms: elapsed(started) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  for (const u of unconfigured) checks.push({ name: u.name, configured: false, ok: true, detail: u.note });
  const ok = checks.every((c) => c.ok);
  process.stdout.write(values(parsed).json ? `${JSON.stringify({ ok, checks })}\n` : table(checks, ok));
  return ok ? 0 : 1;
}

const values = (parsed: Parsed) => parsed.values as { json?: boolean };
const elapsed = (started: number) => Math.round(performance.now() - started);

/** One line: the message, plus the innermost cause when it says more (e.g. ECONNREFUSED). */
function reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let inner: unknown = e;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const message = e.message || e.name || 'failed';
  const code = (e as { code?: string }).code ?? (inner as { code?: string }).code;
  const detail = inner !== e && inner instanceof Error && inner.message && !message.includes(inner.message) ? `: ${inner.message}` : '';
  return `${message}${detail}${code && !`${message}${detail}`.includes(code) ? ` (${code})` : ''}`.split('\n')[0];
}

function table(checks: DoctorCheck[], ok: boolean): string {
  const lines = checks.map((c) => {
    const status = !c.configured ? '-' : c.ok ? 'ok' : 'FAIL';
    const what = c.configured ? `${c.target}\n${' '.repeat(16)}${c.ok ? c.detail : c.error} (${c.latency_ms} ms)` : c.detail;
    return `${status.padEnd(5)} ${c.name.padEnd(9)} ${what}`;
  });
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  return `${lines.join('\n')}\n\n${ok ? 'all configured services answered' : `unreachable: ${failed.join(', ')}`}\n`;
}
