// edge-router kvs: the CloudFront KeyValueStore that the CloudFront Functions runtime reads (the layout:
// shared/kvs-layout.ts). `export` prints the import file for creating a store; `sync` brings a store in step with
// the live document in S3, planned for the config (and, with --keys, the signing keys). Every `edge-router doc`
// write also updates it.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readDoc, s3Client } from '../lib/doc-store';
import { importFile, keysEntries, kvsClient, putKeys, putPlan } from '../lib/kvs';
import { parseHealthDocText } from '../shared';
import { KVS_KEYS_KEY, KVS_MAX_VALUE_BYTES } from '../shared/kvs-layout';
import { kvsArnOf, planOf } from './doc';
import { readKeys } from './keys';
import { CliError, loadConfig, loadDoc, problemLines } from './load';

export function addKvsCommands(cli: Command): void {
  const kvs = cli
    .command('kvs')
    .description('the CloudFront KeyValueStore read by the CloudFront Functions runtime');

  kvs
    .command('export')
    .description('print the KeyValueStore import file ({"data":[{"key","value"}]}) for a document (and keys)')
    .option('--config <file>', 'router config (checks the document against it)', 'router.config.json')
    .requiredOption('--doc <file>', 'the health document')
    .option('--keys <file>', 'also the signing keys (the store is then as private as the keys file)')
    .option('--out <file>', 'write it here instead of stdout')
    .action((o: { config: string; doc: string; keys?: string; out?: string }) => {
      const { router, data: config } = loadConfig(o.config);
      const doc = loadDoc(o.doc, config).data;
      const entries = [...planOf(router, doc, o.doc), ...(o.keys ? keysEntries(readKeys(o.keys)) : [])];
      for (const e of entries) {
        if (Buffer.byteLength(e.value) > KVS_MAX_VALUE_BYTES)
          throw new CliError([`${e.key}: value over 1 KB`]);
      }
      const text = `${JSON.stringify(importFile(entries), null, 2)}\n`;
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
      console.error(
        `${entries.length} keys: the plan of serial ${doc.serial} (${router.orders.length} walks)${o.keys ? `, ${KVS_KEYS_KEY}` : ''}`,
      );
    });

  kvs
    .command('sync')
    .description('write the live document from S3 (and --keys) into the KeyValueStore')
    .option('--config <file>', 'router config: where the document and the store are', 'router.config.json')
    .option('--kvs-arn <arn>', 'the store (default: healthDoc.kvsArn)')
    .option('--endpoint <url>', 'an S3-compatible endpoint (default: healthDoc.endpoint)')
    .option('--keys <file>', 'also write these signing keys')
    .action(async (o: { config: string; kvsArn?: string; endpoint?: string; keys?: string }) => {
      const { router, data: config } = loadConfig(o.config);
      const arn = kvsArnOf(o, config);
      if (!arn) throw new CliError([`no --kvs-arn, and ${o.config} has no healthDoc.kvsArn`]);
      const src = config.healthDoc;
      if (!src) throw new CliError([`${o.config} has no healthDoc: nothing to sync`]);
      const loc = {
        bucket: src.bucket,
        key: src.key,
        region: src.region,
        endpoint: o.endpoint ?? src.endpoint,
      };
      const s3 = s3Client(loc);
      const client = kvsClient();
      try {
        const stored = await readDoc(s3, loc);
        if (!stored) throw new CliError([`s3://${loc.bucket}/${loc.key}: no document to sync`]);
        const where = `s3://${loc.bucket}/${loc.key}`;
        const parsed = parseHealthDocText(stored.text, config);
        if (!parsed.success) throw new CliError([...problemLines(where, parsed.errors), 'nothing synced']);
        const doc = parsed.data;
        await putPlan(client, arn, planOf(router, doc, where));
        console.log(`KeyValueStore ${arn}: plan of serial ${doc.serial} (${router.orders.length} walks)`);
        if (o.keys) {
          await putKeys(client, arn, keysEntries(readKeys(o.keys)));
          console.log(`KeyValueStore ${arn}: signing keys from ${o.keys}`);
        }
      } catch (e) {
        if (e instanceof CliError) throw e;
        throw new CliError([`KeyValueStore ${arn}: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`], {
          cause: e,
        });
      } finally {
        s3.destroy();
        client.destroy();
      }
    });
}
