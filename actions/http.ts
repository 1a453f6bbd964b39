/**
 * `http URL [BODY]`: POSTs to URL on each run, for webhooks and health pings.
 *
 * - Without BODY it sends `{"signal": "SIGUSR1", "action": "http", "time":
 *   "<ISO 8601>"}` as `application/json`. BODY is sent as it is: as
 *   `application/json` when it parses as JSON, else as `text/plain`.
 * - Set-up checks that URL is an `http:` or `https:` URL and that
 *   `--allow-net` covers its host.
 * - A run gives up after 10 s, or when its `signal` fires (a stop, or the
 *   run's `timeout`). A failure (network error, timeout, a status outside
 *   200-299) is logged at warning and never thrown: a webhook that is down
 *   does not fail the signal's other actions. The response body is always
 *   discarded.
 * - Log lines show the URL without its user, password and query, which often
 *   carry secrets.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/action.ts";

/** Options for {@link HttpAction}, for tests and library mode. */
export interface HttpActionOptions {
  /** How long a request may take, headers included. Default 10000. */
  timeoutMs?: number;
}

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain;charset=UTF-8";

/** POSTs a body to a URL on each run and logs the outcome. */
export default class HttpAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    "POSTs BODY, or JSON naming the signal, action and time, to an http(s) URL";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "url", doc: "http or https URL to POST to" },
    {
      name: "body",
      optional: true,
      doc: "what to send: JSON if it parses as JSON, else text (default: signal, action, time)",
    },
  ];

  readonly #timeoutMs: number;
  #url: URL = new URL("http://localhost/");
  #shownUrl = "";
  #body?: { text: string; type: string };

  /** The runtime constructs the action with its context; `options` are for tests. */
  constructor(_context: ActionContext, options: HttpActionOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Checks the URL and keeps the body.
   *
   * @throws {Error} when `url` is not an http(s) URL or `--allow-net` does not cover its host.
   */
  setUp(url: string, body?: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      parsed = new URL("invalid:");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(
        `Argument "url" must be an http or https URL, got ${JSON.stringify(url)}`,
      );
    }
    const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
    const host = `${parsed.hostname}:${port}`;
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      throw new Error(
        `Flagstaff may not connect to "${host}": give it --allow-net=${parsed.hostname} (or --allow-net)`,
      );
    }
    this.#url = parsed;
    this.#shownUrl = `${parsed.origin}${parsed.pathname}`;
    if (body !== undefined) this.#body = { text: body, type: isJson(body) ? JSON_TYPE : TEXT_TYPE };
  }

  /** Shows the URL in an error message as log lines do (fetch's messages name it in full). */
  #redact(message: string): string {
    const origin = new RegExp(`${escapeRegExp(this.#url.origin)}[^\\s)]*`, "g");
    return message.replaceAll(this.#url.href, this.#shownUrl).replace(origin, this.#shownUrl);
  }

  /** Sends the request; logs the status, or why it failed. */
  async run(context: ActionContext): Promise<void> {
    const { logger } = context;
    const url = this.#shownUrl;
    const body = this.#body ?? {
      text: JSON.stringify({
        signal: context.trigger,
        action: context.name,
        time: new Date().toISOString(),
      }),
      type: JSON_TYPE,
    };
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": body.type },
        body: body.text,
        signal: AbortSignal.any([context.signal, timeout.signal]),
      });
      try {
        await response.body?.cancel();
      } catch {
        // Nothing to free.
      }
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      if (response.ok) {
        logger.info("http POST {url}: {status}", { url, status });
      } else {
        logger.warn("http POST {url} failed: {status}", { url, status });
      }
    } catch (error) {
      const reason = context.signal.aborted
        ? `aborted: ${describe(context.signal.reason)}`
        : timeout.signal.aborted
        ? `no response within ${this.#timeoutMs} ms`
        : this.#redact(describe(error));
      logger.warn("http POST {url} failed: {reason}", { url, reason });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Escapes a text for use in a regular expression. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether a text parses as JSON. */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Describes an error or abort reason in a few words (with its cause, as fetch nests it). */
function describe(reason: unknown): string {
  if (!(reason instanceof Error)) return String(reason);
  const cause = reason.cause instanceof Error ? `: ${reason.cause.message}` : "";
  return `${reason.message}${cause}`;
}
