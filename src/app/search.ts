/**
 * Full-text search over the caller's messages (PostgreSQL text search; PGlite runs the same SQL).
 * The stored vector holds English stems and the words as written (migration 009), and the query is
 * parsed both ways, so "running" finds "runs" in English text and any language matches whole words.
 */
import { messageHead } from './messages.ts';
import type { Database } from '../ports/database.ts';
import { invalid } from '../domain/errors.ts';
import { textFault } from '../domain/text.ts';
import { hiddenUpToSql, requireMember } from './membership.ts';
import { iso } from './time.ts';

/** Markers ts_headline puts around matches: control characters, removed from the text beforehand. */
const START = '\u0001';
const STOP = '\u0002';
const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;

export interface SearchQuery {
  q: string;
  conversation_id?: number;
  /** Only messages created before this instant: fixes the result set while a client pages. */
  before?: string;
  limit: number;
  offset: number;
}

export class Search {
  constructor(private readonly db: Database) {}

  /**
   * Matches ranked by relevance (ts_rank), newest first among equals. Deleted messages have no
   * vector and never match; a member of a `joined` group finds only what they may see.
   */
  async messages(userId: number, query: SearchQuery) {
    const fault = textFault(query.q);
    if (fault) throw invalid('invalid-text', `The query ${fault}`, { errors: [{ path: '/q', message: fault }] });
    if (query.conversation_id !== undefined) await requireMember(this.db, query.conversation_id, userId);
    const before = query.before ? new Date(query.before) : new Date();
    const rows = await this.db.query(
      `WITH q AS (SELECT websearch_to_tsquery('english', $2) AS english, websearch_to_tsquery('simple', $2) AS simple),
       hits AS (
         SELECT m.id, m.conversation_id, m.seq, m.sender_id, u.username AS sender_username, m.created_at, m.payload->>'content' AS content,
                ts_rank(m.search_vector, q.english || q.simple) AS rank
           FROM q, members mb JOIN conversations c ON c.id = mb.conversation_id
           JOIN messages m ON m.conversation_id = mb.conversation_id
           LEFT JOIN users u ON u.id = m.sender_id
          WHERE mb.user_id = $1 AND ($3::bigint IS NULL OR mb.conversation_id = $3)
            AND m.search_vector @@ (q.english || q.simple) AND m.deleted_at IS NULL
            AND m.seq > ${hiddenUpToSql('mb', 'c')} AND m.created_at < $4
          ORDER BY rank DESC, m.created_at DESC, m.id LIMIT $5 OFFSET $6)
       SELECT hits.*, ts_headline('english', translate(hits.content, E'\\x01\\x02', ''), q.english, $7) AS english_snippet,
              ts_headline('simple', translate(hits.content, E'\\x01\\x02', ''), q.simple, $7) AS simple_snippet
         FROM hits, q ORDER BY rank DESC, created_at DESC, id`,
      [userId, query.q, query.conversation_id ?? null, before.toISOString(), query.limit + 1, query.offset, HEADLINE_OPTIONS],
    );
    const results = rows.slice(0, query.limit).map((r) => {
      // The English reading highlights stems; when it marks nothing the match was a word as written.
      const snippet = String(r.english_snippet).includes(START) ? String(r.english_snippet) : String(r.simple_snippet);
      return {
        ...messageHead(r),
        created_at: iso(r.created_at),
        rank: Number(r.rank),
        snippet_html: highlightHtml(snippet),
      };
    });
    return { results, before: before.toISOString(), limit: query.limit, offset: query.offset, has_more: rows.length > query.limit };
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

/** The snippet as HTML: every character of the text escaped, matches wrapped in <mark>…</mark>. */
export function highlightHtml(snippet: string): string {
  let html = '';
  let open = false;
  // eslint-disable-next-line no-control-regex -- the markers are control characters on purpose
  for (const part of snippet.split(/([\u0001\u0002])/)) {
    if (part === START) {
      if (!open) html += '<mark>';
      open = true;
    } else if (part === STOP) {
      if (open) html += '</mark>';
      open = false;
    } else html += escapeHtml(part);
  }
  return open ? `${html}</mark>` : html;
}
