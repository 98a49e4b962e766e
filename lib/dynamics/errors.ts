/** Errors of the Dataverse Web API, with the service's code and message and the request route. */

export interface DataverseErrorBody {
	code: string;
	message: string;
}

/** Reads Dataverse's `{"error":{"code","message"}}`, or falls back to the raw text. */
export function readDataverseError(body: unknown, status: number): DataverseErrorBody {
	if (body && typeof body === 'object' && 'error' in body) {
		const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
		if (error && typeof error === 'object') {
			return {
				code: typeof error.code === 'string' ? error.code : String(error.code ?? ''),
				message: typeof error.message === 'string' ? error.message : `HTTP ${status}`,
			};
		}
	}
	if (typeof body === 'string' && body.trim())
		return { code: '', message: body.trim().slice(0, 500) };
	return { code: '', message: `HTTP ${status}` };
}

export class DataverseApiError extends Error {
	/**
	 * @param route method and path below the API root, without query string (never a token),
	 *   e.g. `PATCH contacts(0f…)`
	 */
	constructor(
		readonly status: number,
		readonly code: string,
		readonly serviceMessage: string,
		readonly route: string,
	) {
		super(`Dataverse ${route} failed with ${status}${code ? ` ${code}` : ''}: ${serviceMessage}`);
		this.name = 'DataverseApiError';
	}

	/**
	 * The answer says Dataverse does not know a name the request used (a column, a table), which
	 * metadata may still list; the client has dropped the metadata earlier runs read, so the same
	 * work against fresh metadata may go another way (e.g. the column is reported by name).
	 */
	namesUnknown = false;
}

/** A setting names a column or key Dataverse cannot use as asked; the message says which and why. */
export class DataverseSettingsError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'DataverseSettingsError';
	}
}

/** The change-tracking token is expired or unknown: the caller must do a full read again. */
export class DeltaTokenExpiredError extends DataverseApiError {
	constructor(status: number, code: string, serviceMessage: string, route: string) {
		super(status, code, serviceMessage, route);
		this.name = 'DeltaTokenExpiredError';
	}
}

/**
 * Dataverse's answer to a write that would duplicate a key: `0x80060892` for an alternate key
 * ("A record that has the attribute values … already exists"), `0x80040237` for a primary key
 * ("Cannot insert duplicate key").
 */
const DUPLICATE_KEY_CODES = new Set(['0x80060892', '0x80040237']);

export function isDuplicateKeyError(status: number, error: DataverseErrorBody): boolean {
	if (status < 400) return false;
	return (
		DUPLICATE_KEY_CODES.has(error.code.toLowerCase()) ||
		/duplicate key|already exists/i.test(error.message)
	);
}

/** Dataverse's `ExpiredVersionStamp`, and what it says for an expired or unknown delta token. */
const EXPIRED_CODES = new Set(['0x80044352', '-2147204270']);
const EXPIRED_MESSAGE = /version stamp|full sync|delta ?token|deltatoken/i;

/**
 * An expired or unknown change-tracking token, known by its code or its message. Microsoft does
 * not document the HTTP status of this answer, so any error status counts: the answer is
 * deterministic, and the documented remedy is a full read (use-change-tracking-synchronize-data-
 * external-systems.md: "If there are unprocessed changes older than the configured value, the
 * system throws an exception"), never a retry.
 */
export function isExpiredDeltaTokenError(status: number, error: DataverseErrorBody): boolean {
	if (status < 400) return false;
	return EXPIRED_CODES.has(error.code.toLowerCase()) || EXPIRED_MESSAGE.test(error.message);
}
