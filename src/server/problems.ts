/**
 * Errors raised by the HTTP layer itself (auth, limits checked outside the schema). Engine
 * errors come from src/inference/errors.ts; both are turned into responses by the one table in
 * plugins/errors.ts, so nothing here knows about status codes beyond its own kind.
 */

export interface FieldError {
  /** Where the problem is, e.g. "body/inputs/3/context" or "headers/x-request-deadline-ms". */
  field: string;
  message: string;
}

/** Base of server-layer errors: `code` is the key into the status table. */
/** Every code a server-layer error can carry; the HTTP status table must name each one. */
export type ServerErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'validation'
  | 'invalid_json_body'
  | 'forbidden_key'
  | 'unsupported_charset'
  | 'unsupported_content_encoding';

export abstract class ServerError extends Error {
  abstract readonly code: ServerErrorCode;
}

/** No or unknown bearer key. */
export class UnauthorizedError extends ServerError {
  override name = 'UnauthorizedError';
  readonly code = 'unauthorized';
}

/** A known key that may not do this (or admin routes switched off). */
export class ForbiddenError extends ServerError {
  override name = 'ForbiddenError';
  readonly code = 'forbidden';
}

/** A request that the schema let through but that is still wrong (e.g. a header out of range). */
export class RequestValidationError extends ServerError {
  override name = 'RequestValidationError';
  readonly code = 'validation';
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** A body that is not valid JSON. */
export class InvalidJsonError extends ServerError {
  override name = 'InvalidJsonError';
  readonly code = 'invalid_json_body';
}

/** Valid JSON refused for safety: a `__proto__` or `constructor.prototype` key. */
export class ForbiddenKeyError extends ServerError {
  override name = 'ForbiddenKeyError';
  readonly code = 'forbidden_key';
}

/** A JSON body declared in a charset other than UTF-8 (JSON between systems is UTF-8, RFC 8259 section 8.1). */
export class UnsupportedCharsetError extends ServerError {
  override name = 'UnsupportedCharsetError';
  readonly code = 'unsupported_charset';
}

/** A body sent compressed (Content-Encoding other than identity): the API reads plain JSON only. */
export class UnsupportedContentEncodingError extends ServerError {
  override name = 'UnsupportedContentEncodingError';
  readonly code = 'unsupported_content_encoding';
}
