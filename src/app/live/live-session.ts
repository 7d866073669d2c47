/**
 * What the live-subscription rules need of one connected client, whatever carries it (today a
 * WebSocket, see src/http/ws-client.ts). The transport owns framing, pacing and closing.
 */
export interface LiveSession {
  /** Unique per connection; the key in the cross-instance socket registry. */
  readonly id: string;
  readonly userId: number;
  /** Shown with what the session announces (typing). */
  readonly username: string;
  /** The conversations this session is subscribed to; kept by LiveSessions. */
  readonly conversations: Set<number>;
  /** Sends a frame now (live pushes cannot wait). */
  send(frame: object): void;
  /** Sends a frame already serialised (with its timestamp) now: a fan-out event is serialised once for all its recipients. */
  sendSerialised(data: Buffer): void;
  /** Sends once the client has read what it was sent before; false when it did not in time (and was cut off). */
  sendPaced(frame: object): Promise<boolean>;
}
