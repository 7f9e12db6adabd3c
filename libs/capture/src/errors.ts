/** A table cannot be captured as it is, or capture could not be installed; the message says why. */
export class CaptureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaptureError';
  }
}
