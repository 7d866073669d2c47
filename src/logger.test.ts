import { describe, expect, it } from 'vitest';
import { choosePretty } from './logger.ts';

describe('choosePretty (docker run -it must not need pino-pretty)', () => {
  const installed = () => true;
  const absent = () => false;

  it('a terminal pretty-prints only when pino-pretty can be loaded; without a terminal, JSON', () => {
    expect(choosePretty({ isTty: true, isPrettyInstalled: installed })).toEqual({ isPretty: true });
    // The container image: a TTY (docker run -it) but no dev dependencies.
    expect(choosePretty({ isTty: true, isPrettyInstalled: absent })).toEqual({ isPretty: false });
    expect(choosePretty({ isTty: false, isPrettyInstalled: installed })).toEqual({ isPretty: false });
  });

  it('LOG_PRETTY=false is JSON even on a terminal; LOG_PRETTY=true pretty-prints without one', () => {
    expect(choosePretty({ requested: false, isTty: true, isPrettyInstalled: installed })).toEqual({ isPretty: false });
    expect(choosePretty({ requested: true, isTty: false, isPrettyInstalled: installed })).toEqual({ isPretty: true });
  });

  it('LOG_PRETTY=true without pino-pretty logs JSON and says why, instead of crashing', () => {
    const choice = choosePretty({ requested: true, isTty: true, isPrettyInstalled: absent });
    expect(choice.isPretty).toBe(false);
    expect(choice.warning).toMatch(/pino-pretty is not installed/);
  });

  it('does not even look for pino-pretty when JSON was chosen', () => {
    const never = () => {
      throw new Error('looked');
    };
    expect(choosePretty({ requested: false, isTty: true, isPrettyInstalled: never }).isPretty).toBe(false);
    expect(choosePretty({ isTty: false, isPrettyInstalled: never }).isPretty).toBe(false);
  });
});
