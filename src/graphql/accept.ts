import type { Plugin } from 'graphql-yoga';

/** The media types Yoga's result processors answer in (regular JSON, SSE, multipart). */
const ANSWERABLE_MEDIA_TYPES = ['application/graphql-response+json', 'application/json', 'text/event-stream', 'multipart/mixed'];

/**
 * A request whose Accept none of Yoga's result processors can answer. Yoga finds that out only
 * once the operation has run, and then answers 406 with no body: a mutation was carried out,
 * and its client told it was not. Refused here, before anything runs, with 406 and a coded
 * GraphQL error. The media types are read as Yoga's `getMediaTypesForRequestInOrder` reads
 * them (no q-values; a charset other than utf-8 makes an entry unusable).
 */
export function useNotAcceptableBeforeExecution(): Plugin {
  return {
    onRequestParse: ({ request, endResponse, fetchAPI }) => {
      if (isAnswerable(request.headers.get('accept'))) return;
      const message = `None of the media types in Accept can be answered: ask for ${ANSWERABLE_MEDIA_TYPES.join(', ')}.`;
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
          status: 406,
          headers: { 'content-type': 'application/json; charset=utf-8', accept: ANSWERABLE_MEDIA_TYPES.join(', ') },
        }),
      );
    },
  };
}

function isAnswerable(accept: string | null): boolean {
  if (accept === null) return true;
  for (const entry of accept.replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType = '', ...params] = entry.split(';');
    const charset = params.find((param) => param.includes('charset='));
    if (charset !== undefined && charset !== 'charset=utf-8') continue;
    const [type, subtype] = mediaType.split('/');
    for (const answerable of ANSWERABLE_MEDIA_TYPES) {
      const [answerableType, answerableSubtype] = answerable.split('/');
      if ((type === '*' || type === answerableType) && (subtype === '*' || subtype === answerableSubtype)) return true;
    }
  }
  return false;
}
