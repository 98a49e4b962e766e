import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { CAMPAIGN_OPT_OUT_FIELDS } from '../../lib/sync/optout';
import {
	CAMPAIGN_CREDENTIAL,
	CAMPAIGN_CREDENTIAL_LABEL,
	DYNAMICS_CREDENTIAL,
	DYNAMICS_CREDENTIAL_LABEL,
} from '../shared/clients';
import { getCampaignKeyFields, getCampaignKeyFilters } from '../shared/methods';
import { getContactBooleanColumns } from './methods';
import { execute } from './execute';

const MAPPED_DIRECTIONS = ['campaignToDynamics', 'bidirectional'];

/** The chosen direction, as the node's subtitle on the canvas says it. */
const DIRECTION_NAMES = [
	['campaignToDynamics', 'Campaign → Dynamics 365'],
	['dynamicsToCampaign', 'Dynamics 365 → Campaign'],
	['bidirectional', 'Bidirectional'],
]
	.map(([value, name]) => `$parameter["direction"] === "${value}" ? "${name}" : `)
	.join('')
	.concat('"Disabled"');

export class OptInOutSync implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Opt-In/Out Sync',
		name: 'optInOutSync',
		icon: { light: 'file:../icons/opt-in-out.svg', dark: 'file:../icons/opt-in-out.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: `={{"Direction: " + (${DIRECTION_NAMES})}}`,
		description:
			'Synchronizes opt-in/out flags between Microsoft Dynamics 365 contacts and Adobe Campaign profiles',
		defaults: { name: 'Opt-In/Out Sync' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
			{ name: CAMPAIGN_CREDENTIAL, required: true, displayName: CAMPAIGN_CREDENTIAL_LABEL },
		],
		properties: [
			{
				displayName: 'Direction',
				name: 'direction',
				type: 'options',
				options: [
					{
						name: 'Bidirectional',
						value: 'bidirectional',
						description:
							'Both ways. An opt-out stands until someone is seen opting in on one side; when both sides changed a flag, the newer change of that flag wins, opted out winning a tie.',
					},
					{
						name: 'Disabled',
						value: 'disabled',
						description: 'No opt-in/out information moves',
					},
					{
						name: 'Unidirectional (Campaign to Microsoft Dynamics 365)',
						value: 'campaignToDynamics',
						description:
							'A Campaign change overwrites the Dynamics 365 value, even one edited by hand in Dynamics 365; an opt-out in Dynamics 365 is never cleared unless Campaign was seen opting in',
					},
					{
						name: 'Unidirectional (Microsoft Dynamics 365 to Campaign)',
						value: 'dynamicsToCampaign',
						description:
							'Configured in the contact → profile mapping of the Dynamics 365 to Campaign workflow',
					},
				],
				default: 'disabled',
				description:
					"The opt-in/out synchronization direction (Adobe's term). Disabled moves nothing: choose a direction before you publish.",
			},
			{
				displayName:
					'Opt-in/out flows from Dynamics 365 to Campaign through the Dynamics 365 to Campaign workflow: open it and map the opt-in/out fields in its contact → profile mapping (Apply Field Mapping). This node moves nothing in this direction.',
				name: 'dynamicsToCampaignNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { direction: ['dynamicsToCampaign'] } },
			},
			{
				displayName: 'Mappings',
				name: 'mappings',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add Mapping',
				default: {},
				description:
					'Which Dynamics 365 contact field pairs with which Campaign profile opt-out field (used by the Campaign to Dynamics 365 and Bidirectional directions). Contacts and profiles are paired through the Campaign key below.',
				options: [
					{
						displayName: 'Mapping',
						name: 'mapping',
						values: [
							{
								displayName: 'Dynamics 365 Field Name or ID',
								name: 'dynamicsField',
								type: 'options',
								typeOptions: { loadOptionsMethod: 'getContactBooleanColumns' },
								default: '',
								description:
									'A boolean (Yes/No) column of the contact table. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
							},
							{
								displayName: 'Campaign Field',
								name: 'campaignField',
								type: 'options',
								options: [...CAMPAIGN_OPT_OUT_FIELDS]
									.sort((a, b) => a.localeCompare(b))
									.map((f) => ({ name: f, value: f })),
								default: 'denyListEmail',
								description: "Campaign's fixed opt-out fields (true means opted out)",
							},
						],
					},
				],
			},
			{
				displayName: 'Campaign Resource',
				name: 'campaignResource',
				type: 'hidden',
				default: 'profile',
			},
			{
				displayName: 'Campaign Key Name or ID',
				name: 'campaignKey',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getCampaignKeyFields' },
				default: 'externalId',
				displayOptions: { show: { direction: MAPPED_DIRECTIONS } },
				description:
					'The profile field holding the Dynamics 365 contact ID: the Campaign primary key of the contact → profile mapping of the Dynamics 365 to Campaign workflow. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Key Filter Name or ID',
				name: 'campaignKeyFilter',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getCampaignKeyFilters',
					loadOptionsDependsOn: ['campaignKey'],
				},
				default: '',
				displayOptions: { show: { direction: MAPPED_DIRECTIONS } },
				description:
					'The Campaign filter that finds a profile by that key, as in the mapping. "By Name" uses the filter named after the key (e.g. byExternalId). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				displayOptions: { show: { direction: MAPPED_DIRECTIONS } },
				options: [
					{
						displayName: 'Page Size',
						name: 'pageSize',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 1000 },
						default: 500,
						description: 'Records per request when reading changes',
					},
					{
						displayName: 'Max Records per Run',
						name: 'maxRecordsPerRun',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 5000,
						description:
							'Bounds the memory and time of each run. The first cycle (and one after a change of mappings or key) checks every profile: at most this many per run, the rest in the next runs. Later runs read at most this many changed contacts and as many changed profiles; what is left is read by the next runs (the summary shows the backlog).',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: { getContactBooleanColumns, getCampaignKeyFields, getCampaignKeyFilters },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
