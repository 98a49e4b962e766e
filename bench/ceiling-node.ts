/**
 * The ceiling's node (benchmark only, never in the package): it sends, for each item, the Campaign
 * requests a load sends for a new record, through n8n's `httpRequestWithAuthentication` (the
 * helper every verified community node must use, and the one Campaign Upsert and HTTP Request
 * use), `concurrency` at a time, and does nothing else. No workflow that sends those requests
 * can go faster on the same machine.
 *
 * - `lookup`: `GET profile/byExternalId` (a replay's request);
 * - `create`: `POST profile` with the item as body, without the envelope Apply Field Mapping
 *   adds (the load with the key declared unique);
 * - `lookupCreate`: the lookup, then the create when nothing was found (the template as shipped).
 *
 * "Credential read once" hands the helper the credential the node read, as our nodes do; without
 * it the helper reads the credential for every request, as a node calls it by default.
 *
 * Self-contained (type imports only): B2 runs it in n8n-core's engine, B8 transpiles this file
 * into a real n8n's custom extensions folder.
 */
import type { IDataObject, IExecuteFunctions, INodeType, INodeTypeDescription } from 'n8n-workflow';

export type CeilingRequests = 'lookup' | 'create' | 'lookupCreate';

export const CEILING_NODE_NAME = 'benchOneRequestPerItem';

export class BenchOneRequestPerItem implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'One Request per Item',
		name: CEILING_NODE_NAME,
		group: ['transform'],
		version: 1,
		description: 'Benchmark only',
		defaults: { name: 'One Request per Item' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'adobeCampaignStandardApi', required: true }],
		properties: [
			{ displayName: 'Profile URL', name: 'url', type: 'string', default: '' },
			{ displayName: 'Requests', name: 'requests', type: 'string', default: 'lookup' },
			{ displayName: 'Concurrency', name: 'concurrency', type: 'number', default: 100 },
			{
				displayName: 'Credential Read Once',
				name: 'credentialOnce',
				type: 'boolean',
				default: true,
			},
		],
	};

	async execute(this: IExecuteFunctions) {
		// The records: the trigger's run report (one item a run, `_syncRun`) is not one.
		const items = this.getInputData().filter((item) => !('_syncRun' in item.json));
		const url = this.getNodeParameter('url', 0) as string;
		const requests = this.getNodeParameter('requests', 0) as CeilingRequests;
		const concurrency = this.getNodeParameter('concurrency', 0) as number;
		let additional: IDataObject | undefined;
		if (this.getNodeParameter('credentialOnce', 0) as boolean) {
			const data = await this.getCredentials('adobeCampaignStandardApi');
			const ref = this.getNode().credentials!.adobeCampaignStandardApi;
			additional = {
				credentialsDecrypted: {
					id: ref.id,
					name: ref.name,
					type: 'adobeCampaignStandardApi',
					data: { ...data },
				},
			};
		}
		const send = async (options: IDataObject) =>
			(await this.helpers.httpRequestWithAuthentication.call(
				this,
				'adobeCampaignStandardApi',
				{ ...options, json: true } as never,
				additional as never,
			)) as IDataObject;
		let next = 0;
		let found = 0;
		let created = 0;
		const worker = async () => {
			while (next < items.length) {
				// A mapped record without its envelope: the Campaign fields Campaign Upsert writes.
				const profile = { ...items[next++].json };
				delete profile._sync;
				if (requests !== 'create') {
					const answer = await send({
						method: 'GET',
						url: `${url}/byExternalId`,
						qs: { externalId_parameter: String(profile.externalId) },
					});
					const content = answer.content as unknown[];
					found += content.length;
					if (content.length || requests === 'lookup') continue;
				}
				await send({ method: 'POST', url, body: profile });
				created++;
			}
		};
		await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
		return [[{ json: { requests, items: items.length, found, created } }]];
	}
}
