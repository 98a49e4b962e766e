/**
 * Adobe Campaign Standard sandbox: IMS token endpoint + Campaign REST API + admin API, in memory,
 * optionally persisted to a JSON file.
 */
import fs from 'node:fs';
import { SANDBOX_DEFAULTS } from '../defaults';
import { SandboxServer } from '../common/server';
import {
	DEFAULT_BIG_TABLE_THRESHOLD,
	campaignErrorFormatter,
	registerCampaignApi,
	tokenInvalidReply,
	type CampaignFlavor,
	type CampaignServiceState,
} from './api';
import { registerCampaignAdmin } from './admin-routes';
import { CampaignStore, type StoreSnapshot } from './store';

export interface CampaignSandboxOptions {
	host?: string;
	/** 0 picks a free port. */
	port?: number;
	organizationId?: string;
	clients?: { clientId: string; clientSecret: string }[];
	tokenLifetimeSeconds?: number;
	seed?: number;
	/** Load state from this JSON file at start (when it exists) and save changes to it. */
	persistFile?: string;
	/** Campaign's XtkBigTableThreshold (default 100,000); settable later through the admin API. */
	bigTableThreshold?: number;
	/** `v8`: answer as a Campaign v8 tenant migrated from Campaign Standard. */
	flavor?: CampaignFlavor;
}

export interface CampaignSandbox {
	/** Base URL; the IMS token endpoint is `${url}/ims/token/v3`. */
	url: string;
	/** `${url}/${organizationId}/campaign`. */
	apiBase: string;
	organizationId: string;
	server: SandboxServer;
	store: CampaignStore;
	close(): Promise<void>;
}

export async function startCampaignSandbox(
	options: CampaignSandboxOptions = {},
): Promise<CampaignSandbox> {
	const defaults = SANDBOX_DEFAULTS.campaign;
	const store = new CampaignStore(options.seed ?? 1);
	if (options.persistFile && fs.existsSync(options.persistFile)) {
		store.restore(JSON.parse(fs.readFileSync(options.persistFile, 'utf8')) as StoreSnapshot);
	}
	const clients = options.clients ?? [
		{ clientId: defaults.clientId, clientSecret: defaults.clientSecret },
	];
	const state: CampaignServiceState = {
		store,
		organizationId: options.organizationId ?? defaults.organizationId,
		clients: new Map(clients.map((c) => [c.clientId, c.clientSecret])),
		tokens: new Map(),
		tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? defaults.tokenLifetimeSeconds,
		allowedScopes: new Set(defaults.scopes.split(',')),
		bigTableThreshold: options.bigTableThreshold ?? DEFAULT_BIG_TABLE_THRESHOLD,
		flavor: options.flavor ?? 'standard',
	};
	const server = new SandboxServer({
		host: options.host ?? SANDBOX_DEFAULTS.host,
		port: options.port ?? 0,
		formatError: campaignErrorFormatter(state),
		tokenExpiredReply: tokenInvalidReply,
	});
	registerCampaignAdmin(server, state);
	registerCampaignApi(server, state);

	let saveTimer: NodeJS.Timeout | undefined;
	const save = () => {
		if (!options.persistFile) return;
		fs.writeFileSync(options.persistFile, JSON.stringify(store.snapshot()));
	};
	if (options.persistFile) {
		// Debounced: a generated batch of 20,000 profiles is written once, not 20,000 times.
		store.onChange = () => {
			if (saveTimer) return;
			saveTimer = setTimeout(() => {
				saveTimer = undefined;
				save();
			}, 250);
		};
	}

	const url = await server.listen();
	return {
		url,
		apiBase: `${url}/${state.organizationId}/campaign`,
		organizationId: state.organizationId,
		server,
		store,
		async close() {
			if (saveTimer) {
				clearTimeout(saveTimer);
				saveTimer = undefined;
			}
			save();
			await server.close();
		},
	};
}

export { CampaignSandboxAdmin } from './admin';
export type * from './types';
