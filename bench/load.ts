/** Open-loop load generation helpers: fixed arrival rate, latency from the scheduled time. */
import http from 'node:http';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

export function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  errors: number;
  acceptedPerSecond: number;
  p50: number;
  p99: number;
}

/**
 * Sends `rate` requests per second for `seconds`, on a 5 ms tick, without waiting for answers
 * (open loop). Latency counts from the moment each request was due, so a slow server cannot
 * hide queueing (no coordinated omission).
 */
export async function openLoop(rate: number, seconds: number, fire: (i: number) => Promise<boolean>): Promise<StepResult> {
  const latencies: number[] = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  const start = performance.now();
  const total = rate * seconds;
  const inflight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        const i = sent++;
        const dueAt = start + (i / rate) * 1000;
        inflight.push(
          fire(i).then(
            (ok) => {
              if (ok) {
                accepted++;
                latencies.push(performance.now() - dueAt);
              } else errors++;
            },
            () => void errors++,
          ),
        );
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate, seconds, sent, accepted, errors, acceptedPerSecond: accepted / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
