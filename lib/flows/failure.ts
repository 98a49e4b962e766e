/**
 * How a failure reads, in the flows' results and in the nodes' errors alike: the service and its
 * answer for the services' errors, the message otherwise, with the record named. Messages never
 * carry tokens or secrets: the clients build them from routes without query strings and from the
 * services' own error texts.
 */
import { CampaignApiError } from '../campaign/client';
import { DataverseApiError } from '../dynamics/errors';
import { TransportError } from '../http/types';
import { SyncDataError, SyncSettingsError } from '../sync/errors';

export function failureMessage(error: unknown, recordId?: string): string {
	// Settings and data errors name their record and field themselves.
	if (error instanceof SyncSettingsError || error instanceof SyncDataError) return error.message;
	const where = recordId ? ` (record ${recordId})` : '';
	if (error instanceof DataverseApiError || error instanceof CampaignApiError) {
		const service = error instanceof DataverseApiError ? 'Dynamics 365' : 'Campaign';
		return `${service} answered ${error.status}${error.code ? ` ${error.code}` : ''}${where}: ${error.serviceMessage}`;
	}
	if (error instanceof TransportError)
		return `No answer from the service${where}: ${error.message}`;
	const message = error instanceof Error ? error.message : String(error);
	return `${message}${where}`;
}
