// Every error code of the API as a sentence a person understands (DESIGN.md, "HTTP surface").

const sentences = {
  invalid_request: 'folio could not accept that',
  unauthorized: 'Your session has ended. Please sign in again.',
  not_confirmed: 'Confirm your email address first: enter the code that was emailed to you.',
  not_found: 'That document no longer exists. It may have been deleted, perhaps in another tab.',
  conflict: 'That conflicts with something that already exists.',
  idempotency_conflict: 'This click was already used for a different document. Press Create PDF again.',
  payload_too_large: 'The document is too large to send. Make it shorter, or split it in two.',
  unsupported_image: 'folio takes PNG, JPEG, GIF and WebP images. Export the picture in one of those.',
  image_too_large: 'The image is too large.',
  quota_exceeded: 'Your library is full.',
  source_too_large: 'The markdown is longer than folio accepts (512 KiB). Split it into smaller documents.',
  nesting_too_deep: 'Lists or quotes are nested too deeply to lay out. Flatten the deepest part.',
  page_limit_exceeded: 'The PDF would have more pages than folio allows. Split the document into parts.',
  document_too_complex: 'The document would take too much work to lay out (huge tables, thousands of footnotes, or giant images). The message names the line.',
  render_failed: 'folio could not render this document. The warnings in the preview may show why.',
  render_timeout: 'Rendering took too long and was stopped. A shorter or simpler document will work.',
  rate_limited: 'You are going a little fast.',
  overloaded: 'folio is busy right now. Try again in a few seconds.',
  storage_unavailable: 'folio could not save the document just now. Nothing was lost: try again.',
  internal: 'Something went wrong on our side. Try again; if it keeps happening, tell whoever runs this folio.',
  network: 'folio cannot be reached. Check your connection and try again.',
};

/** The sentence for an API error, with the server's detail where it helps. */
export function describe(error) {
  if (!error || typeof error.code !== 'string') return sentences.internal;
  switch (error.code) {
    case 'invalid_request':
    case 'document_too_complex':
    case 'image_too_large':
    case 'quota_exceeded':
      return `${capitalise(error.message)}.`.replace(/\.\.$/, '.');
    case 'rate_limited':
      return error.retryAfter
        ? `${sentences.rate_limited} Try again in ${error.retryAfter} second${error.retryAfter === 1 ? '' : 's'}.`
        : `${sentences.rate_limited} Try again in a moment.`;
    default:
      return sentences[error.code] ?? sentences.internal;
  }
}

function capitalise(text) {
  const value = String(text ?? '').trim();
  return value ? value[0].toUpperCase() + value.slice(1) : sentences.invalid_request;
}
