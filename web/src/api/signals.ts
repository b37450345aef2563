// Live updates: one WebSocket to /api/signals (Backstage's signals
// protocol), shared by every subscriber in the page. It subscribes to each
// channel someone listens to, and reconnects with back-off when the server
// closes it (a restart, a slow reader), re-subscribing every channel.

type Listener = (message: unknown) => void;

/** SignalsClient multiplexes channel subscriptions over one WebSocket. */
export class SignalsClient {
  private ws: WebSocket | null = null;
  private listeners = new Map<string, Set<Listener>>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;
  private closed = false;
  private reconnectListeners = new Set<() => void>();

  constructor(
    private readonly getToken: () => string | undefined,
    private readonly url = defaultSignalsUrl(),
  ) {}

  /** subscribe calls listener with each message on channel until the returned function is called. */
  subscribe(channel: string, listener: Listener): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.send({ action: 'subscribe', channel });
    }
    set.add(listener);
    this.ensureOpen();
    return () => {
      const s = this.listeners.get(channel);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) {
        this.listeners.delete(channel);
        this.send({ action: 'unsubscribe', channel });
      }
    };
  }

  /**
   * onReconnect calls listener after each reconnect, so that a view re-reads
   * what it may have missed meanwhile; the returned function stops that.
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** close ends the connection for good (sign-out). */
  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.ws?.close();
    this.ws = null;
  }

  private send(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private ensureOpen(): void {
    if (this.closed || this.ws || this.reconnectTimer || typeof WebSocket === 'undefined') return;
    const token = this.getToken();
    let ws: WebSocket;
    try {
      ws = token ? new WebSocket(this.url, [token]) : new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    const reconnecting = this.attempts > 0;
    ws.onopen = () => {
      this.attempts = 0;
      for (const channel of this.listeners.keys()) ws.send(JSON.stringify({ action: 'subscribe', channel }));
      if (reconnecting) for (const l of this.reconnectListeners) l();
    };
    ws.onmessage = (ev) => {
      let data: { channel?: string; message?: unknown };
      try {
        data = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (!data.channel) return;
      for (const l of this.listeners.get(data.channel) ?? []) {
        try {
          l(data.message);
        } catch (e) {
          console.error('signal listener failed', e);
        }
      }
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      if (!this.closed && this.listeners.size > 0) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    this.attempts++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.attempts, 6));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureOpen();
    }, delay);
  }
}

function defaultSignalsUrl(): string {
  if (typeof window === 'undefined') return 'ws://localhost/api/signals';
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}/api/signals`;
}
