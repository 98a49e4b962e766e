/**
 * The one seam between our service clients and whatever really sends HTTP: n8n's
 * `httpRequestWithAuthentication` inside nodes, axios in the sandbox, tests, benchmarks and tools.
 *
 * A transport answers every HTTP status with a response (it never throws for 4xx/5xx); it throws
 * only when no response arrived (connection reset, refused, timeout), as a `TransportError`.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HttpRequest {
	method: HttpMethod;
	/** Absolute URL; query parameters may already be in it (e.g. an `@odata.nextLink`). */
	url: string;
	headers?: Record<string, string>;
	/** Extra query parameters, appended to `url`. */
	qs?: Record<string, string | number | boolean>;
	/** A plain object is sent as JSON; a string is sent as is (set `Content-Type` yourself). */
	body?: unknown;
	/** Per-attempt timeout. */
	timeoutMs?: number;
	/**
	 * POST and PATCH are sent again after a failure only when the caller says a repeat is harmless
	 * (an upsert by key, a client-generated id, or a lookup done before the retry).
	 */
	repeatSafe?: boolean;
	/** A short label for request counters, e.g. `dataverse:contacts:GET`. */
	route?: string;
	/**
	 * Recognises an answer the service gives the same way every time, whatever its status: it is
	 * returned at once, never retried, since a repeat would cost a call and hide the cause
	 * (Campaign's 500 naming a duplicate key or an unknown property; Dataverse's expired
	 * change-tracking token, which may come with a 5xx).
	 */
	deterministic?: (response: HttpResponse) => boolean;
}

export interface HttpResponse<T = unknown> {
	status: number;
	/** Header names in lower case. */
	headers: Record<string, string>;
	/** Parsed JSON when the response is JSON, else the text ('' when empty). */
	body: T;
}

export interface Transport {
	request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
}

export type TransportErrorCode = 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNREFUSED' | 'EOTHER';

export class TransportError extends Error {
	constructor(
		message: string,
		readonly code: TransportErrorCode,
	) {
		super(message);
		this.name = 'TransportError';
	}
}
