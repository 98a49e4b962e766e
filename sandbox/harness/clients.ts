/**
 * Clients wired to the in-process sandboxes the way tools and benchmarks wire them: the shared
 * axios transport with a token provider for each service.
 */
import { CampaignClient } from '../../lib/campaign/client';
import { DataverseClient } from '../../lib/dynamics/client';
import type { MetadataCache } from '../../lib/http/cache';
import type { CampaignSandbox } from '../campaign';
import type { DataverseSandbox } from '../dataverse';
import { axiosTransport } from './axios-transport';
import {
	campaignTokens,
	dynamicsTokens,
	sandboxCampaignSettings,
	sandboxDynamicsSettings,
} from './tokens';

export interface Wired<T> {
	client: T;
	close(): void;
}

export function campaignClientFor(
	sandbox: CampaignSandbox,
	options: { metadataCache?: MetadataCache } = {},
): Wired<CampaignClient> {
	const auth = campaignTokens(sandboxCampaignSettings(sandbox.url));
	const transport = axiosTransport({ auth });
	return {
		client: new CampaignClient({ transport, apiBaseUrl: sandbox.apiBase, ...options }),
		close() {
			transport.close();
			auth.close();
		},
	};
}

export function dataverseClientFor(
	sandbox: DataverseSandbox,
	options: { maxPageSize?: number; metadataCache?: MetadataCache } = {},
): Wired<DataverseClient> {
	const auth = dynamicsTokens(sandboxDynamicsSettings(sandbox.url));
	const transport = axiosTransport({ auth });
	return {
		client: new DataverseClient({ transport, environmentUrl: sandbox.url, ...options }),
		close() {
			transport.close();
			auth.close();
		},
	};
}
