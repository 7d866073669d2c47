import { describe, expect, it } from 'vitest';
import { canRemove, hiddenUpTo, isManager, successor, type Role } from './group.ts';

const m = (userId: number, role: Role, joinedAt: number) => ({ userId, role, joinedAt });

describe('group roles', () => {
  it('lets owners and admins manage, not members', () => {
    expect([isManager('owner'), isManager('admin'), isManager('member')]).toEqual([true, true, false]);
  });

  it('lets anyone leave and a manager remove only those ranked below', () => {
    const owner = { userId: 1, role: 'owner' as Role };
    const admin = { userId: 2, role: 'admin' as Role };
    const admin2 = { userId: 3, role: 'admin' as Role };
    const member = { userId: 4, role: 'member' as Role };
    const member2 = { userId: 5, role: 'member' as Role };
    for (const x of [owner, admin, member]) expect(canRemove(x, x)).toBe(true);
    expect([canRemove(owner, admin), canRemove(owner, member)]).toEqual([true, true]);
    expect([canRemove(admin, member), canRemove(admin, admin2), canRemove(admin, owner)]).toEqual([true, false, false]);
    expect([canRemove(member, member2), canRemove(member, owner)]).toEqual([false, false]);
  });

  it('hands ownership to the longest-standing admin, else the longest-standing member, ties by lower id', () => {
    expect(successor([m(5, 'member', 1), m(7, 'admin', 3), m(6, 'admin', 2)])?.userId).toBe(6);
    expect(successor([m(9, 'member', 2), m(8, 'member', 2), m(3, 'member', 4)])?.userId).toBe(8);
    expect(successor([])).toBeUndefined();
  });
});

describe('history visibility', () => {
  it('hides nothing when shared and everything up to the join when joined', () => {
    expect(hiddenUpTo('shared', 42)).toBe(0);
    expect(hiddenUpTo('joined', 42)).toBe(42);
  });
});
