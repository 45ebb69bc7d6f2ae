// The demo page's script, bundled for the browser into assets/lambda/local/demo/demo-page.js.
// turbo-rails brings Turbo and <turbo-cable-stream-source> (which subscribes with @rails/actioncable
// at <meta name="action-cable-url">); the rest posts the form without leaving the page.
import '@hotwired/turbo-rails';

// lambda/'s tsconfig has Node's types, not the DOM's: the little used here.
interface Field { value: string; focus(): void }
interface Form { action: string; addEventListener(type: 'submit', listener: (event: { preventDefault(): void }) => void): void }
declare const document: { getElementById(id: string): unknown };

const form = document.getElementById('message-form') as Form | null;
const input = document.getElementById('message-text') as Field | null;
const status = document.getElementById('form-status') as { textContent: string } | null;

// Cancelling the submit event also keeps Turbo Drive from submitting the form itself.
form?.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!input || input.value.trim() === '') return;
  void send(form.action, input);
});

async function send(action: string, field: Field): Promise<void> {
  try {
    // JSON, which the server requires: a page of another origin cannot post it without a CORS preflight.
    const response = await fetch(action, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: field.value }) });
    if (!response.ok) throw new Error(((await response.json()) as { message?: string }).message ?? `HTTP ${response.status}`);
    field.value = '';
    field.focus();
    if (status) status.textContent = '';
  } catch (error) {
    if (status) status.textContent = `Not sent: ${error instanceof Error ? error.message : String(error)}`;
  }
}
