import { DatabaseError } from '../ports/database.ts';

export const isUniqueViolation = (e: unknown): boolean => e instanceof DatabaseError && e.isUniqueViolation;
