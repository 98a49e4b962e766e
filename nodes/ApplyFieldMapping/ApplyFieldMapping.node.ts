import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { CAMPAIGN_CREDENTIAL, DYNAMICS_CREDENTIAL } from '../shared/clients';
import {
	getCampaignFields,
	getCampaignKeyFields,
	getCampaignKeyFilters,
	getCampaignResources,
	getColumns,
	getPrimaryKey,
	getTables,
} from '../shared/methods';
import { dynamicsTableProperty } from '../shared/properties';
import { execute } from './execute';

export class ApplyFieldMapping implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Apply Field Mapping',
		name: 'applyFieldMapping',
		icon: { light: 'file:../icons/sync.svg', dark: 'file:../icons/sync.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: '={{$parameter["table"] + " → " + $parameter["campaignResource"]}}',
		description:
			'Maps a Microsoft Dynamics 365 table to a Campaign resource: primary keys, field mappings with Apply updates, and advanced settings',
		defaults: { name: 'Apply Field Mapping' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true },
			{ name: CAMPAIGN_CREDENTIAL, required: true },
		],
		properties: [
			{
				displayName:
					'Tables and primary keys cannot be changed once the mapping has run: to map other tables, delete this chain and add a new mapping',
				name: 'tablesNotice',
				type: 'notice',
				default: '',
			},
			dynamicsTableProperty,
			{
				displayName: 'Campaign Table Name or ID',
				name: 'campaignResource',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getCampaignResources' },
				default: '',
				required: true,
				description:
					'The Adobe Campaign Standard resource the records are written to: profile or a custom resource. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Microsoft Dynamics 365 Primary Key Name or ID',
				name: 'dynamicsKey',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getPrimaryKey', loadOptionsDependsOn: ['table'] },
				default: '',
				description:
					'Detected from the table definition; read-only. Leave empty to use the detected key. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Primary Key Name or ID',
				name: 'campaignKey',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getCampaignKeyFields',
					loadOptionsDependsOn: ['campaignResource'],
				},
				default: '',
				required: true,
				description:
					'The Campaign field that holds the Dynamics 365 key (the CRM ID). Records are found by it, so no two Campaign records may share a value. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Key Filter Name or ID',
				name: 'campaignKeyFilter',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getCampaignKeyFilters',
					loadOptionsDependsOn: ['campaignResource', 'campaignKey'],
				},
				default: '',
				description:
					'The Campaign filter that finds records by the Campaign primary key: one of the resource\'s filters with one parameter, defined in Campaign (a custom filter gets a parameter name of Campaign\'s choosing). "By Name" uses the filter named after the key, e.g. byExternalId for externalId. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Refuses Duplicate Keys',
				name: 'campaignKeyUnique',
				type: 'boolean',
				default: false,
				description:
					"Whether Campaign itself refuses a second record with the same Campaign primary key, because a Campaign administrator made it an identification key or gave it a unique index. Campaign's metadata does not say so: turn this on only when you know it. When on, an initial load creates new records without looking each one up first (one request per record instead of two); when off, every record is looked up before it is created, so no duplicate is ever written.",
			},
			{
				displayName: 'Field Mappings',
				name: 'fieldMappings',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add New Field Mapping',
				default: {},
				description:
					'Which Microsoft Dynamics 365 field fills which Campaign field. The data type of each field is shown in its dropdown.',
				options: [
					{
						displayName: 'Field Mapping',
						name: 'mapping',
						values: [
							{
								displayName: 'Microsoft Dynamics 365 Field Name or ID',
								name: 'dynamicsField',
								type: 'options',
								typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['table'] },
								default: '',
								description:
									'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
							},
							{
								displayName: 'Campaign Field Name or ID',
								name: 'campaignField',
								type: 'options',
								typeOptions: {
									loadOptionsMethod: 'getCampaignFields',
									loadOptionsDependsOn: ['campaignResource'],
								},
								default: '',
								description:
									'Each Campaign field can be filled by one Microsoft Dynamics 365 field only. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
							},
							{
								displayName: 'Apply Updates',
								name: 'applyUpdates',
								type: 'boolean',
								default: true,
								description:
									'Whether updates of this field in Microsoft Dynamics 365 are propagated to Campaign as they occur. When off, the value is written when data is initially loaded or replayed only.',
							},
						],
					},
				],
			},
			{
				displayName: 'Apply Updates for All Fields',
				name: 'applyUpdatesAll',
				type: 'options',
				options: [
					{ name: 'As Set per Field', value: 'perField' },
					{ name: 'All On', value: 'allOn' },
					{ name: 'All Off', value: 'allOff' },
				],
				default: 'perField',
				description: 'Sets every Apply Updates switch at once',
			},
			{
				displayName: 'Advanced Settings',
				name: 'advanced',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				options: [
					{
						displayName: 'Apply Deletes in Microsoft Dynamics 365 to Campaign?',
						name: 'applyDeletes',
						type: 'boolean',
						default: true,
						description:
							'Whether records deleted in Microsoft Dynamics 365 are deleted in Campaign. When off, deletions are ignored. Deletions are seen only on tables with change tracking, or where the Dynamics 365 Trigger compares keys (its Deletes Detection setting); a trigger polling by modified date alone sees none.',
					},
					{
						displayName: 'Use Technical Values in Microsoft Dynamics 365 Picklists?',
						name: 'useTechnicalValues',
						type: 'boolean',
						default: false,
						description:
							'Whether the technical value of a picklist (e.g. 2) is propagated to Campaign. When off, its display value (e.g. Female) is propagated.',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			getTables,
			getColumns,
			getPrimaryKey,
			getCampaignResources,
			getCampaignFields,
			getCampaignKeyFields,
			getCampaignKeyFilters,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
