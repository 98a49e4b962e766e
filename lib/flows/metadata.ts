/**
 * Settings are checked against metadata the process may have cached for a while; a problem found
 * there is checked once more against metadata read now, before the run reports it.
 */
import { CampaignApiError, type CampaignClient } from '../campaign/client';
import type { DataverseClient } from '../dynamics/client';
import { DataverseApiError } from '../dynamics/errors';
import { TransportError } from '../http/types';

/** Errors of the services themselves, which fresher metadata cannot change. */
function isServiceError(error: unknown): boolean {
	return (
		error instanceof DataverseApiError ||
		error instanceof CampaignApiError ||
		error instanceof TransportError
	);
}

/**
 * Runs `build` (read metadata, check the settings against it); a settings problem found against
 * metadata that earlier runs read is checked once more against metadata read now, since the cache
 * may predate a change in Dynamics 365 or Campaign (a column or field added, a filter defined).
 */
export async function checkedAgainstFreshMetadata<T>(
	clients: ReadonlyArray<DataverseClient | CampaignClient>,
	build: () => Promise<T>,
): Promise<T> {
	const first = await build().then(
		(value) => ({ value }),
		(error: unknown) => ({ error }),
	);
	if (!('error' in first)) return first.value;
	// Every client forgets what it used (no short-circuit), then the settings are checked again.
	const forgot = isServiceError(first.error) ? [] : clients.map((c) => c.forgetCachedMetadata());
	return forgot.includes(true) ? await build() : await Promise.reject(first.error);
}
