// Server-Sent Events parsing (WHATWG rules), fed text chunks as they arrive.
// Unlike EventSource it also reports comment lines, so `: ping` heartbeats are visible.

/**
 * @param {(ev: {kind: string, data: string, id: string|null}) => void} onEvent
 * @param {(comment: string) => void} [onComment]
 */
export function createParser(onEvent, onComment = () => {}) {
  let buffer = '';
  let kind = '';
  let data = [];
  let id = null;

  function line(text) {
    if (text === '') {
      if (data.length) onEvent({ kind: kind || 'message', data: data.join('\n'), id });
      kind = '';
      data = [];
      id = null;
      return;
    }
    if (text.startsWith(':')) {
      onComment(text.slice(1).trim());
      return;
    }
    const colon = text.indexOf(':');
    const name = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') kind = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id' && !value.includes('\0')) id = value;
  }

  return {
    push(chunk) {
      buffer += chunk;
      const eol = /\r\n|\r|\n/g;
      let start = 0;
      let m;
      while ((m = eol.exec(buffer)) !== null) {
        // A lone \r at the very end may be the first half of \r\n: wait for more.
        if (m[0] === '\r' && m.index + 1 === buffer.length) break;
        line(buffer.slice(start, m.index));
        start = m.index + m[0].length;
      }
      buffer = buffer.slice(start);
    },
  };
}
