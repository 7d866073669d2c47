/**
 * Getting the user's attention while the page is open but not in front: the tab title counts the
 * messages that arrived since the window lost focus (`(3) Chat4All`) and a short chime plays
 * (at most one every few seconds). With focus, the title counts conversations with unread messages.
 */
const TITLE = 'Chat4All';
const CHIME_EVERY_MS = 3000;

export class Attention {
  #missed = 0;
  #lastChime = 0;
  #audio = null;

  constructor(client) {
    this.client = client;
    client.addEventListener('incoming', () => this.#onIncoming());
    client.store.addEventListener('conversations', () => this.#render());
    window.addEventListener('focus', () => this.#onFocus());
    document.addEventListener('visibilitychange', () => this.#isAway || this.#onFocus());
    // Browsers start audio only after a gesture: prepare it on the first one.
    const unlock = () =>
      this.#audioContext()
        ?.resume()
        .catch(() => undefined);
    window.addEventListener('pointerdown', unlock, { once: true });
    window.addEventListener('keydown', unlock, { once: true });
  }

  get #isAway() {
    return document.visibilityState !== 'visible' || !document.hasFocus();
  }

  #onIncoming() {
    if (!this.#isAway) return;
    this.#missed++;
    this.#render();
    this.#chime();
  }

  #onFocus() {
    this.#missed = 0;
    this.#render();
  }

  #render() {
    const unreadChats = [...this.client.store.conversations.values()].filter((c) => c.unread > 0).length;
    const count = this.#missed > 0 ? this.#missed : unreadChats;
    document.title = count > 0 ? `(${count}) ${TITLE}` : TITLE;
  }

  #audioContext() {
    if (!this.#audio && 'AudioContext' in window) this.#audio = new AudioContext();
    return this.#audio;
  }

  /** Two short soft tones, synthesised: no sound file to load. */
  #chime() {
    const now = Date.now();
    if (now - this.#lastChime < CHIME_EVERY_MS) return;
    this.#lastChime = now;
    const audio = this.#audioContext();
    if (!audio) return;
    const t = audio.currentTime;
    for (const [offset, frequency] of [
      [0, 880],
      [0.12, 1320],
    ]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, t + offset);
      gain.gain.exponentialRampToValueAtTime(0.15, t + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(t + offset);
      tone.stop(t + offset + 0.3);
    }
  }
}
