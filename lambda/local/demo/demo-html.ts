/**
 * The demo page's HTML and the Turbo Stream its form broadcasts, built on the server with no
 * framework. Everything that reaches HTML from outside goes through `escapeHtml`.
 */

/** The stream the demo page subscribes to (Rails: `turbo_stream_from "cdk-cable-demo"`). */
export const DEMO_STREAM = 'cdk-cable-demo';
/** Where the page loads its script (Turbo, @rails/actioncable and the form wiring). */
export const DEMO_SCRIPT_PATH = '/demo-page.js';
/** Where the page's form posts. */
export const DEMO_MESSAGES_PATH = '/demo/messages';
/** Longest message accepted, in characters: well inside a 128 KB frame. */
export const MAX_DEMO_MESSAGE_CHARS = 1_000;

export interface DemoPageContent {
  /** `/cable`: `<meta name="action-cable-url">`, so the cable is at the page's own origin. */
  readonly cablePath: string;
  /** The demo stream's name signed with the server's Turbo key; undefined: no key, nothing to subscribe with. */
  readonly signedStreamName?: string;
  /** Problems that keep the demo from working, shown above the form. */
  readonly notices: readonly string[];
}

/** `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * What turbo-rails' `broadcast_append_to(stream, target: "messages", html:)` broadcasts: a
 * `<turbo-stream action="append">` whose template holds one message, its text escaped.
 */
export function appendMessageStream(text: string, at: Date): string {
  const time = `<time datetime="${at.toISOString()}">${at.toTimeString().slice(0, 8)}</time>`;
  return `<turbo-stream action="append" target="messages"><template><p class="message">${time} ${escapeHtml(text)}</p></template></turbo-stream>`;
}

/**
 * ActiveSupport::JSON.encode as Rails configures it (`escape_html_entities_in_json`): `<`, `>`
 * and `&` as \u003c, \u003e, \u0026, and U+2028/U+2029 escaped. Rails encodes the broadcast
 * message this way, and anycable-rails the request body.
 */
export function railsJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The whole page: a stream source, a form, the `#messages` target Turbo appends to. */
export function renderDemoPage(content: DemoPageContent): string {
  const source = content.signedStreamName === undefined ? ''
    : `<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="${escapeHtml(content.signedStreamName)}"></turbo-cable-stream-source>`;
  const notices = content.notices.map((notice) => `<p class="notice">${escapeHtml(notice)}</p>`).join('\n    ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="action-cable-url" content="${escapeHtml(content.cablePath)}">
  <title>cdk-cable demo</title>
  <style>${STYLE}</style>
  <script type="module" src="${DEMO_SCRIPT_PATH}"></script>
</head>
<body>
  <main>
    <h1>cdk-cable demo</h1>
    <p>Open this page in several tabs. A message sent here is broadcast through
      <code>POST /_broadcast</code> as a Turbo Stream, as Rails' <code>broadcast_append_to</code> would,
      and every tab subscribed to <code>${escapeHtml(DEMO_STREAM)}</code> appends it.</p>
    ${notices}
    <p class="state"><span class="off">Connecting to <code>${escapeHtml(content.cablePath)}</code>…</span><span class="on">Live: subscribed to <code>Turbo::StreamsChannel</code></span></p>
    ${source}
    <form id="message-form" action="${DEMO_MESSAGES_PATH}" method="post">
      <input id="message-text" name="text" maxlength="${MAX_DEMO_MESSAGE_CHARS}" autocomplete="off" required autofocus placeholder="Type a message">
      <button type="submit">Send</button>
    </form>
    <p id="form-status" role="status"></p>
    <div id="messages"></div>
  </main>
</body>
</html>
`;
}

const STYLE = `
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
    main { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
    h1 { font-size: 1.5rem; }
    code { background: #e8ebef; padding: 0 .25em; border-radius: 3px; }
    .notice { background: #fff3cd; border: 1px solid #e6c35c; padding: .5rem .75rem; border-radius: 4px; }
    .state .on, body:has(turbo-cable-stream-source[connected]) .state .off { display: none; }
    body:has(turbo-cable-stream-source[connected]) .state .on { display: inline; color: #1a7f37; }
    .state .off { color: #8a6d00; }
    form { display: flex; gap: .5rem; }
    input { flex: 1; font: inherit; padding: .4rem .6rem; border: 1px solid #b7bec8; border-radius: 4px; }
    button { font: inherit; padding: .4rem 1rem; border: 0; border-radius: 4px; background: #2057c9; color: #fff; }
    #form-status { color: #b42318; min-height: 1.5em; margin: .25rem 0; }
    .message { background: #fff; border: 1px solid #dde1e6; border-radius: 4px; padding: .4rem .6rem; margin: .4rem 0; }
    .message time { color: #6b7480; font-size: .85em; margin-right: .4em; }
  `;
