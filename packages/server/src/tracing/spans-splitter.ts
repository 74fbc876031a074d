// Finds the elements of a JSON document's top-level `spans` list as the text arrives, so that a
// trace data file of any size is read one span at a time. Only the document's shape is followed
// (strings, nesting, the key before each top-level value); each element's own JSON is left to the
// caller's parser, which is where a broken span is found.

/** Why the text is not a `{"spans": [...]}` document, in words for the caller's error. */
export class SpansShapeError extends Error {}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const STRING_END = /["\\]/g;

export class SpansSplitter {
  /** Nesting of objects and lists outside strings; the document's object is depth 1. */
  private depth = 0;
  private inString = false;
  /** A backslash ended the last piece inside a string: the next character is escaped. */
  private escaped = false;
  /** At depth 1, whether the next string is a key (else a value). */
  private expectKey = false;
  /** The key being read (it may span pieces), and the last complete one. */
  private keyText: string | undefined;
  private lastKey = '';
  private inSpans = false;
  private sawSpans = false;
  private sawContent = false;
  /** The element being read: its text from earlier pieces, and where it starts in this one. */
  private partial = '';
  private start = -1;

  /** The elements of `spans` completed by `piece`, in order, as their JSON text. */
  push(piece: string): string[] {
    const out: string[] = [];
    let i = 0;
    const n = piece.length;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        STRING_END.lastIndex = i;
        const hit = STRING_END.exec(piece);
        if (!hit) {
          if (this.keyText !== undefined) this.keyText += piece.slice(i);
          i = n;
          break;
        }
        const at = hit.index;
        if (piece[at] === '\\') {
          if (this.keyText !== undefined) this.keyText += piece.slice(i, at + 2);
          if (at + 1 >= n) this.escaped = true;
          i = at + 2;
          continue;
        }
        if (this.keyText !== undefined) {
          this.lastKey = this.keyText + piece.slice(i, at);
          this.keyText = undefined;
        }
        this.inString = false;
        i = at + 1;
        continue;
      }
      const ch = piece[i];
      if (WHITESPACE.has(ch)) {
        i++;
        continue;
      }
      if (this.depth === 0 && this.sawContent) throw new SpansShapeError('the file is not JSON');
      this.sawContent = true;
      const elementLevel = this.inSpans && this.depth === 2;
      if (elementLevel && this.start < 0 && ch !== ',' && ch !== ']') this.start = i;
      switch (ch) {
        case '"':
          this.inString = true;
          if (this.depth === 1 && this.expectKey) this.keyText = '';
          break;
        case '{':
        case '[':
          if (this.depth === 0 && ch !== '{') throw new SpansShapeError('it has no "spans" list');
          if (this.depth === 0) this.expectKey = true;
          if (this.depth === 1 && ch === '[' && !this.expectKey && this.lastKey === 'spans') {
            if (this.sawSpans) throw new SpansShapeError('it has two "spans" lists');
            this.inSpans = true;
            this.sawSpans = true;
          }
          this.depth++;
          break;
        case '}':
        case ']':
          if (elementLevel && ch === ']') {
            // The list closes: a last element that was a bare value ends here.
            if (this.start >= 0) out.push(this.take(piece, i));
            this.inSpans = false;
          }
          this.depth--;
          if (this.depth < 0) throw new SpansShapeError('the file is not JSON');
          if (this.inSpans && this.depth === 2 && this.start >= 0) out.push(this.take(piece, i + 1));
          break;
        case ',':
          if (elementLevel && this.start >= 0) out.push(this.take(piece, i));
          if (this.depth === 1) this.expectKey = true;
          break;
        case ':':
          if (this.depth === 1) this.expectKey = false;
          break;
        default:
          break;
      }
      i++;
    }
    if (this.start >= 0) {
      this.partial += piece.slice(this.start);
      this.start = 0;
    }
    return out;
  }

  /** Checks that the whole document was read; false when it held nothing at all. */
  end(): boolean {
    if (!this.sawContent) return false;
    if (this.inString || this.depth !== 0) throw new SpansShapeError('the file is not JSON');
    if (!this.sawSpans) throw new SpansShapeError('it has no "spans" list');
    return true;
  }

  private take(piece: string, end: number): string {
    // A bare value's text runs to the comma or bracket after it: drop the blanks before that.
    const text = (this.partial + piece.slice(this.start, end)).trimEnd();
    this.partial = '';
    this.start = -1;
    return text;
  }
}
