/** The sign-in / create-account form. */
import { byId } from '../dom.js';

const MESSAGES = {
  'invalid-credentials': 'Wrong username or password.',
  'username-taken': 'That username is taken. Try another one.',
  'rate-limited': 'Too many attempts. Wait a moment and try again.',
  'registration-closed': 'This server does not accept new accounts. Ask its operator for one.',
};

/** Shows the form; calls `onSignedIn` once the session holds tokens. */
export function showAuth(session, onSignedIn) {
  const form = byId('auth-form');
  const tabs = { signin: byId('tab-signin'), register: byId('tab-register') };
  const submit = byId('auth-submit');
  const error = byId('auth-error');
  const password = byId('auth-password');
  let mode = 'signin';

  const setMode = (next, { focus = false } = {}) => {
    mode = next;
    for (const [name, tab] of Object.entries(tabs)) {
      const isActive = name === mode;
      tab.setAttribute('aria-selected', String(isActive));
      tab.tabIndex = isActive ? 0 : -1;
      if (isActive && focus) tab.focus();
    }
    form.setAttribute('aria-labelledby', tabs[mode].id);
    byId('auth-display-field').hidden = mode !== 'register';
    password.autocomplete = mode === 'register' ? 'new-password' : 'current-password';
    submit.textContent = mode === 'register' ? 'Create account' : 'Sign in';
    error.textContent = '';
  };
  tabs.signin.addEventListener('click', () => setMode('signin'));
  tabs.register.addEventListener('click', () => setMode('register'));
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  for (const tab of Object.values(tabs)) {
    tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') setMode(mode === 'signin' ? 'register' : 'signin', { focus: true });
    });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = byId('auth-username').value.trim();
    const problem = check(username, password.value, mode);
    if (problem) {
      error.textContent = problem;
      return;
    }
    submit.disabled = true;
    submit.dataset.busy = '';
    error.textContent = '';
    try {
      if (mode === 'register') await session.register(username, password.value, byId('auth-display').value.trim());
      else await session.login(username, password.value);
      onSignedIn();
    } catch (err) {
      error.textContent = MESSAGES[err.code] ?? err.message;
      password.select();
    } finally {
      submit.disabled = false;
      delete submit.dataset.busy;
    }
  });

  setMode('signin');
  byId('auth').hidden = false;
  byId('auth-username').focus();
}

function check(username, password, mode) {
  if (!username) return 'Enter your username.';
  if (!password) return 'Enter your password.';
  if (mode === 'register') {
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(username)) return 'Usernames have 3 to 32 letters, digits, dots, dashes or underscores.';
    if (password.length < 8) return 'Passwords have at least 8 characters.';
  }
  return undefined;
}
