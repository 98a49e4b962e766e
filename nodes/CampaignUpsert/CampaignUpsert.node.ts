import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { CAMPAIGN_CREDENTIAL, CAMPAIGN_CREDENTIAL_LABEL } from '../shared/clients';
import { execute } from './execute';

export class CampaignUpsert implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Upsert',
		name: 'campaignUpsert',
		icon: { light: 'file:../icons/campaign.svg', dark: 'file:../icons/campaign.dark.svg' },
		group: ['output'],
		version: 1,
		usableAsTool: true,
		subtitle: 'Create, Update or Delete',
		description:
			'Creates, updates and deletes Adobe Campaign Standard records from mapped Microsoft Dynamics 365 records, one result per record and a run summary',
		defaults: { name: 'Campaign Upsert' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: CAMPAIGN_CREDENTIAL, required: true, displayName: CAMPAIGN_CREDENTIAL_LABEL },
		],
		properties: [
			{
				displayName:
					'What to write comes from Apply Field Mapping: the Campaign table, its key, the mapped fields and which of them Apply updates. Set "On Error" to "Continue (using error output)" in the node settings to get failed records on a second output.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 200 },
				default: 20,
				description:
					'The most records written to Campaign at the same time. With "Adapt Concurrency" on, a ceiling: the node finds how many Campaign takes. When Campaign answers 429 or 503 (too many requests), that record waits as long as Campaign asks and is sent again, holding its place, so a throttled run slows down instead of failing; the summary item counts these answers under "throttled" and gives the concurrency reached under "concurrency".',
			},
			{
				displayName: 'Adapt Concurrency',
				name: 'adaptConcurrency',
				type: 'boolean',
				default: true,
				description:
					"Whether to find the concurrency Campaign allows instead of always using the Concurrency setting: start low, send more records at once while Campaign's answers come back fast and clean, fewer as soon as it answers 429 or 503 or its answers slow down, never more than Concurrency. Campaign publishes no limit; it depends on the licence. Later runs start where the last one ended.",
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
