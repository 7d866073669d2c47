/**
 * Group roles and history visibility, modelled on Matrix power levels and Mattermost channel
 * roles: one owner, any number of admins, members. Pure rules; src/app/conversations.ts applies them.
 */
export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

export const HISTORY_VISIBILITIES = ['shared', 'joined'] as const;
/** `shared`: members see the whole history; `joined`: each member sees messages from their join onward. */
export type HistoryVisibility = (typeof HISTORY_VISIBILITIES)[number];

const RANK: Record<Role, number> = { owner: 2, admin: 1, member: 0 };

export const asRole = (value: string): Role => ((ROLES as readonly string[]).includes(value) ? (value as Role) : 'member');

/** Owners and admins add members and change the group's name, description and history visibility. */
export const isManager = (role: Role): boolean => RANK[role] >= RANK.admin;

/**
 * Anyone may remove themselves (leave). Otherwise an actor removes only members ranked below
 * them: the owner removes admins and members, an admin removes members.
 */
export function canRemove(actor: { userId: number; role: Role }, target: { userId: number; role: Role }): boolean {
  if (actor.userId === target.userId) return true;
  return isManager(actor.role) && RANK[actor.role] > RANK[target.role];
}

export interface Standing {
  userId: number;
  role: Role;
  /** When the member joined; ties are broken by the lower user id. */
  joinedAt: number;
}

/**
 * Who becomes owner when the owner leaves: the longest-standing admin, else the longest-standing
 * member; undefined when nobody is left.
 */
export function successor(remaining: readonly Standing[]): Standing | undefined {
  const byStanding = [...remaining].sort((a, b) => a.joinedAt - b.joinedAt || a.userId - b.userId);
  return byStanding.find((m) => m.role === 'admin') ?? byStanding[0];
}

/**
 * The highest seq a member may not see: everything after it is visible. 0 for `shared` (the whole
 * history); the conversation's last seq at their join for `joined`.
 */
export const hiddenUpTo = (visibility: HistoryVisibility, joinedSeq: number): number => (visibility === 'joined' ? joinedSeq : 0);
