import type {
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IPollFunctions,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	CAMPAIGN_CREDENTIAL,
	CAMPAIGN_CREDENTIAL_LABEL,
	DYNAMICS_CREDENTIAL,
	DYNAMICS_CREDENTIAL_LABEL,
} from '../shared/clients';
import { getColumns, searchTables } from '../shared/methods';
import { dynamicsTableProperty, subtitleValue } from '../shared/properties';
import { poll } from './poll';

export class DynamicsTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics 365 Trigger',
		name: 'dynamicsTrigger',
		icon: { light: 'file:../icons/dynamics.svg', dark: 'file:../icons/dynamics.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: `={{"Table: " + ${subtitleValue('table')}}}`,
		description:
			'Emits the records of a Microsoft Dynamics 365 table: every record on the first run, then only what changed (deletes included)',
		defaults: { name: 'Dynamics 365 Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
			{
				name: CAMPAIGN_CREDENTIAL,
				required: true,
				displayName: CAMPAIGN_CREDENTIAL_LABEL,
				displayOptions: { show: { deletesDetection: ['compareKeys'] } },
			},
		],
		properties: [
			{
				displayName:
					'Unpublish this workflow while you publish schema changes (tables, columns, links, keys used by the mapping) in Dynamics 365 or Campaign, then publish it again',
				name: 'schemaChangeNotice',
				type: 'notice',
				default: '',
			},
			{
				...dynamicsTableProperty,
				description:
					'The Dynamics 365 table to synchronize. Its cursor belongs to it: to sync another table, delete this chain and add a new one.',
				hint: 'Fixed once the workflow has run',
			},
			{
				displayName: 'Column Names or IDs',
				name: 'columns',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['table.value'] },
				default: [],
				description:
					'Columns to read. Leave empty to read every column. The primary key, the modified date and the columns used by the filter, replacement and mapping nodes after this trigger are always read. Adding a column later re-reads every record once so Campaign gets it. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Change Detection',
				name: 'changeDetection',
				type: 'options',
				options: [
					{
						name: 'Automatic',
						value: 'auto',
						description:
							'Change tracking when the table has it switched on, else polling on the modified date',
					},
					{
						name: 'Change Tracking',
						value: 'changeTracking',
						description: 'Dataverse delta tokens: new, updated and deleted records',
					},
					{
						name: 'Modified Date',
						value: 'modifiedOn',
						description: 'Records whose modified date moved; deletes cannot be seen this way',
					},
				],
				default: 'auto',
			},
			{
				displayName: 'Deletes Detection',
				name: 'deletesDetection',
				type: 'options',
				displayOptions: { show: { changeDetection: ['auto', 'modifiedOn'] } },
				options: [
					{
						name: 'None',
						value: 'none',
						description:
							'Polling by modified date sees no deletions: records deleted in Dynamics 365 stay in Campaign',
					},
					{
						name: 'Compare Keys With Campaign',
						value: 'compareKeys',
						description:
							"On a schedule, page through the Campaign table of this chain's mapping and delete (through the chain) the records whose key is no longer a record of this table. Only for Campaign tables whose keys all come from this table.",
					},
				],
				default: 'none',
				description:
					'Used when the table is polled by modified date (no change tracking). Change tracking sees deletions by itself.',
			},
			{
				displayName: 'Compare Keys Every (Hours)',
				name: 'compareEveryHours',
				type: 'number',
				typeOptions: { minValue: 1 },
				displayOptions: { show: { deletesDetection: ['compareKeys'] } },
				default: 24,
				description:
					'How often a comparison starts; each comparison runs in bounded steps over the next polls',
			},
			{
				displayName: 'Replay Data',
				name: 'replayData',
				type: 'string',
				default: '',
				placeholder: 'e.g. 2026-11-26 fix of the gender mapping',
				description:
					"To re-synchronize every record of the table, type a new value here (any text, such as today's date), then deactivate and activate the workflow. Each new value is honoured once. Refused when the table holds 2,000,000 records or more, or the backlog is 2,000,000 or more.",
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Page Size',
						name: 'pageSize',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 5000 },
						default: 500,
						description: 'Records per request to Dataverse (at most 5,000)',
					},
					{
						displayName: 'Max Records per Run',
						name: 'maxRecordsPerRun',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 5000,
						description:
							'Most records one run emits; the rest follow in the next runs. Bounds the memory and time of each run.',
					},
				],
			},
		],
	};

	methods = { loadOptions: { getColumns }, listSearch: { searchTables } };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		return await poll.call(this);
	}
}
