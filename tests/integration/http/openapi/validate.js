// Validates an OpenAPI document with @apidevtools/swagger-parser (a real
// OpenAPI 3 validator: the spec's JSON schema plus its own rules) and
// prints each op the document names, one a line, for openapi.t.
//     node validate.js openapi.json
const SwaggerParser = require('@apidevtools/swagger-parser');
(async () => {
  try {
    const api = await SwaggerParser.validate(process.argv[2]);
    console.log('valid ' + api.openapi);
    for (const [path, item] of Object.entries(api.paths))
      for (const [method, op] of Object.entries(item))
        if (op['x-trellis-op'])
          console.log('op ' + op['x-trellis-op'] + ' ' + method.toUpperCase() + ' ' + path);
  } catch (e) {
    console.log('invalid: ' + e.message);
    process.exit(1);
  }
})();
