/** A tiny client for the parallel-run HTTP API (what the demo uses; a CLI can build on it). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key?: string,
  ) {}

  private async send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(this.key ? { 'x-functions-key': this.key } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, text: await res.text() };
  }

  private static failure(method: string, path: string, reply: { status: number; text: string }): Error {
    let message = reply.text;
    try {
      message = (JSON.parse(reply.text) as { error?: { message?: string } }).error?.message ?? reply.text;
    } catch {
      // not JSON: keep the text
    }
    return new Error(`${method} ${path} answered ${reply.status}: ${message}`);
  }

  /** JSON from the API; throws with the API's own message when the status is not `expected`. */
  async json<T>(method: string, path: string, body?: unknown, expected = 200): Promise<T> {
    const reply = await this.send(method, path, body);
    if (reply.status !== expected) throw ApiClient.failure(method, path, reply);
    return JSON.parse(reply.text) as T;
  }

  /**
   * Waits until an orchestration ends, by long polls of at most 4 minutes each: one longer would
   * outlast fetch's 5-minute wait for response headers ("fetch failed") on a slow run.
   */
  async waitForInstance(instanceId: string): Promise<void> {
    const path = `/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?waitForCompletionSeconds=240`;
    for (;;) {
      const reply = await this.send('GET', path);
      if (reply.status === 200) return;
      if (reply.status !== 202) throw ApiClient.failure('GET', path, reply);
    }
  }

  async text(path: string): Promise<string> {
    const reply = await this.send('GET', path);
    if (reply.status !== 200) throw ApiClient.failure('GET', path, reply);
    return reply.text;
  }
}
