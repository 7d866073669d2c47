import type { Database } from '../../ports/database.ts';
import { CHANNELS, type ExternalChannel } from '../../domain/message.ts';
import { iso } from '../time.ts';

export interface ChannelHealth {
  last_success_at: string | null;
  last_error_at: string | null;
  last_error: string | null;
  consecutive_failures: number;
}

/** What the connector workers last recorded for each channel (shared by every process through the database). */
export async function channelHealth(db: Database): Promise<Record<ExternalChannel, ChannelHealth>> {
  const rows = await db.query('SELECT channel, last_success_at, last_error_at, last_error, consecutive_failures FROM channel_health');
  const out = {} as Record<ExternalChannel, ChannelHealth>;
  for (const c of CHANNELS) out[c] = { last_success_at: null, last_error_at: null, last_error: null, consecutive_failures: 0 };
  for (const r of rows) {
    if (!(CHANNELS as readonly string[]).includes(String(r.channel))) continue;
    out[r.channel as ExternalChannel] = {
      last_success_at: r.last_success_at ? iso(r.last_success_at) : null,
      last_error_at: r.last_error_at ? iso(r.last_error_at) : null,
      last_error: r.last_error === null ? null : String(r.last_error),
      consecutive_failures: Number(r.consecutive_failures),
    };
  }
  return out;
}
