/**
 * Campaign's error answers: what they say, and which of them are worth another attempt.
 *
 * Two bodies arrive. The Adobe I/O gateway answers `{"error_code":"401013","message":…}` (and, for
 * a URI it cannot route, `{"code":500,"message":"Oops. Something went wrong. Check your URI…"}`,
 * CS help/api/using/troubleshooting.md). Campaign itself answers with a message that carries its
 * codes, e.g. `RST-360011 An error has occurred - please contact your administrator. The value
 * 'invalid' is not valid for the 'nms:recipient:gender' enumeration…` or `A 'Service' with the
 * same key 'SVC4' already exists. PGS-220000 PostgreSQL error: ERROR: duplicate key value…`
 * (experience-cloud.en help/campaign/api/limitations.md, "Error codes and messages"), inside
 * `{"code","message"}` or as a bare JSON string (adobe/aio-lib-campaign-standard issue #51).
 */
import type { HttpResponse } from '../http/types';

export class CampaignApiError extends Error {
	/**
	 * @param route method and path below the API base without query string, e.g.
	 *   `PATCH profileAndServicesExt/profile/@abc`
	 */
	constructor(
		readonly status: number,
		readonly code: string,
		readonly serviceMessage: string,
		readonly route: string,
	) {
		super(`Campaign ${route} failed with ${status}${code ? ` ${code}` : ''}: ${serviceMessage}`);
		this.name = 'CampaignApiError';
	}
}

/** Campaign's own codes: REST layer, XTK engine, PostgreSQL, SQL, JavaScript. */
const CAMPAIGN_CODE = /\b(RST|XTK|PGS|SQL|JST)-\d+\b/g;
/** The code Campaign puts before every REST failure, whatever its cause. */
const GENERIC_CODE = 'RST-360011';
/** The sentence that says nothing about the cause (Campaign Standard and Campaign v8 wordings). */
const GENERIC_SENTENCE =
	/(?:RST-360011\s*)?An error has occurred\s*-\s*please contact your administrator\.?/gi;
/**
 * Causes Campaign names in its 500s (Adobe's table of Campaign Standard and v8 messages) and the
 * gateway's answer for a URI it cannot route (a wrong organization or path).
 */
const NAMED_CAUSE =
	/duplicate key|already exists|is not valid for|read-only|attribute unknown|unable to parse|unable to decrypt|Check your URI/i;

/**
 * The most telling Campaign code in a message: the first one other than the generic
 * `RST-360011`, else `RST-360011`, else ''.
 */
export function campaignCode(message: string): string {
	const codes = [...message.matchAll(CAMPAIGN_CODE)].map((m) => m[0]);
	return codes.find((c) => c !== GENERIC_CODE) ?? codes[0] ?? '';
}

/** Reads both error shapes and a bare string body. */
export function readCampaignError(
	body: unknown,
	status: number,
): { code: string; message: string } {
	if (body && typeof body === 'object') {
		const b = body as Record<string, unknown>;
		const nested =
			b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>) : undefined;
		const message = String(
			b.message ?? nested?.message ?? b.error_description ?? b.title ?? `HTTP ${status}`,
		);
		const fromMessage = campaignCode(message);
		const code =
			b.error_code !== undefined
				? String(b.error_code)
				: fromMessage
					? fromMessage
					: nested?.code !== undefined
						? String(nested.code)
						: typeof b.error === 'string'
							? b.error
							: b.code !== undefined
								? String(b.code)
								: '';
		return { code, message };
	}
	if (typeof body === 'string' && body.trim()) {
		const message = body.trim().slice(0, 500);
		return { code: campaignCode(message), message };
	}
	return { code: '', message: `HTTP ${status}` };
}

/**
 * A 500 that Campaign gives the same way every time: its message names a cause (a duplicate key,
 * an invalid enumeration value, an unknown or read-only property, an invalid PKey), or the gateway
 * cannot route the URI. Repeating it costs engine calls and hides the cause, so it is reported at
 * once. A 500 that says nothing beyond "An error has occurred" may be transient and stays
 * retryable (for idempotent requests only).
 */
export function isDeterministicCampaignAnswer(response: HttpResponse): boolean {
	if (response.status !== 500) return false;
	return namesCause(readCampaignError(response.body, response.status).message);
}

/** Whether a Campaign error message says more than "an error has occurred". */
export function namesCause(message: string): boolean {
	const cause = message.replace(GENERIC_SENTENCE, '');
	return campaignCode(cause) !== '' || NAMED_CAUSE.test(cause);
}

/** Campaign refused a second record with the same key (a unique index or identification key). */
export function isDuplicateKeyError(error: unknown): boolean {
	return (
		error instanceof CampaignApiError &&
		(error.status === 409 ||
			(error.status === 500 && /duplicate key|already exists/i.test(error.serviceMessage)))
	);
}
