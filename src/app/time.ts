/** Timestamps on the wire: ISO 8601 UTC with `Z` (CONTRACT.md conventions). */
export const iso = (v: unknown): string => new Date(v as string).toISOString();
