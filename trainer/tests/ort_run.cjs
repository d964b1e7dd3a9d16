// Runs ONNX models with onnxruntime-node (there is no onnxruntime for this Python):
//   node ort_run.cjs inputs.json model1.onnx [model2.onnx ...]
// inputs.json: {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}
// prints {"<model path>": {"<output name>": nested arrays}} on stdout.
const path = require('node:path');
const fs = require('node:fs');
const ort = require(path.resolve(__dirname, '../../node_modules/onnxruntime-node'));

function tensor(rows) {
  const b = rows.length;
  const s = rows[0].length;
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((x) => BigInt(x))), [b, s]);
}

(async () => {
  const [inputsFile, ...models] = process.argv.slice(2);
  const inputs = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
  const feeds = {};
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) feeds[name] = tensor(inputs[name]);
  const result = {};
  for (const model of models) {
    const session = await ort.InferenceSession.create(model);
    const out = await session.run(feeds);
    result[model] = {};
    for (const name of session.outputNames) {
      const t = out[name];
      const flat = Array.from(t.data);
      const [rows, cols] = t.dims;
      result[model][name] = Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
    }
  }
  process.stdout.write(JSON.stringify(result));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
