// Golden documents copied verbatim from the specs: python-sdk.md §4.3
// example 1 and http-protocol.md §13.4.

/** python-sdk.md §4.3 example 1: `def run(self, s: str) -> str`, info.version 0.22.0. */
export const EXAMPLE_1_DOCUMENT: Record<string, unknown> = {
  "components": {
    "schemas": {
      "Input": {
        "properties": {
          "s": {
            "title": "S",
            "type": "string",
            "x-order": 0,
          },
        },
        "required": [
          "s",
        ],
        "title": "Input",
        "type": "object",
      },
      "Output": {
        "title": "Output",
        "type": "string",
      },
      "PredictionRequest": {
        "properties": {
          "id": {
            "title": "Id",
            "type": "string",
          },
          "input": {
            "$ref": "#/components/schemas/Input",
          },
        },
        "title": "PredictionRequest",
        "type": "object",
      },
      "PredictionResponse": {
        "properties": {
          "completed_at": {
            "format": "date-time",
            "title": "Completed At",
            "type": "string",
          },
          "created_at": {
            "format": "date-time",
            "title": "Created At",
            "type": "string",
          },
          "error": {
            "title": "Error",
            "type": "string",
          },
          "id": {
            "title": "Id",
            "type": "string",
          },
          "input": {
            "$ref": "#/components/schemas/Input",
          },
          "logs": {
            "title": "Logs",
            "type": "string",
          },
          "metrics": {
            "title": "Metrics",
            "type": "object",
          },
          "output": {
            "$ref": "#/components/schemas/Output",
          },
          "started_at": {
            "format": "date-time",
            "title": "Started At",
            "type": "string",
          },
          "status": {
            "title": "Status",
            "type": "string",
          },
          "version": {
            "title": "Version",
            "type": "string",
          },
        },
        "title": "PredictionResponse",
        "type": "object",
      },
      "Status": {
        "description": "An enumeration.",
        "enum": [
          "starting",
          "processing",
          "succeeded",
          "canceled",
          "failed",
        ],
        "title": "Status",
        "type": "string",
      },
      "HTTPValidationError": {
        "properties": {
          "detail": {
            "items": {
              "$ref": "#/components/schemas/ValidationError",
            },
            "title": "Detail",
            "type": "array",
          },
        },
        "title": "HTTPValidationError",
        "type": "object",
      },
      "ValidationError": {
        "properties": {
          "loc": {
            "items": {
              "anyOf": [
                {
                  "type": "string",
                },
                {
                  "type": "integer",
                },
              ],
            },
            "title": "Location",
            "type": "array",
          },
          "msg": {
            "title": "Message",
            "type": "string",
          },
          "type": {
            "title": "Error Type",
            "type": "string",
          },
        },
        "required": [
          "loc",
          "msg",
          "type",
        ],
        "title": "ValidationError",
        "type": "object",
      },
    },
  },
  "info": {
    "title": "Cog",
    "version": "0.22.0",
  },
  "openapi": "3.0.2",
  "paths": {
    "/": {
      "get": {
        "operationId": "root__get",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {},
              },
            },
            "description": "Successful Response",
          },
        },
        "summary": "Root",
      },
    },
    "/health-check": {
      "get": {
        "operationId": "healthcheck_health_check_get",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {},
              },
            },
            "description": "Successful Response",
          },
        },
        "summary": "Healthcheck",
      },
    },
    "/predictions": {
      "post": {
        "description": "Run a single prediction on the model",
        "operationId": "predict_predictions_post",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PredictionRequest",
              },
            },
          },
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PredictionResponse",
                },
              },
            },
            "description": "Successful Response",
          },
          "422": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HTTPValidationError",
                },
              },
            },
            "description": "Validation Error",
          },
        },
        "summary": "Predict",
      },
    },
    "/predictions/{prediction_id}/cancel": {
      "post": {
        "operationId": "cancel_predictions__prediction_id__cancel_post",
        "parameters": [
          {
            "in": "path",
            "name": "prediction_id",
            "required": true,
            "schema": {
              "title": "Prediction Id",
              "type": "string",
            },
          },
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {},
              },
            },
            "description": "Successful Response",
          },
          "422": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HTTPValidationError",
                },
              },
            },
            "description": "Validation Error",
          },
        },
        "summary": "Cancel",
      },
    },
  },
};

/** http-protocol.md §13.4, the complete example (with `@streaming`). */
export const COMPLETE_EXAMPLE_DOCUMENT: Record<string, unknown> = {
  "openapi": "3.0.2",
  "info": {
    "title": "Cog",
    "version": "0.22.0",
  },
  "paths": {
    "/": {
      "get": {
        "summary": "Root",
        "operationId": "root__get",
        "responses": {
          "200": {
            "description": "Successful Response",
            "content": {
              "application/json": {
                "schema": {},
              },
            },
          },
        },
      },
    },
    "/health-check": {
      "get": {
        "summary": "Healthcheck",
        "operationId": "healthcheck_health_check_get",
        "responses": {
          "200": {
            "description": "Successful Response",
            "content": {
              "application/json": {
                "schema": {},
              },
            },
          },
        },
      },
    },
    "/predictions": {
      "post": {
        "summary": "Predict",
        "description": "Run a single prediction on the model",
        "operationId": "predict_predictions_post",
        "x-cog-streaming": true,
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PredictionRequest",
              },
            },
          },
        },
        "responses": {
          "200": {
            "description": "Successful Response",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PredictionResponse",
                },
              },
            },
          },
          "422": {
            "description": "Validation Error",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HTTPValidationError",
                },
              },
            },
          },
        },
      },
    },
    "/predictions/{prediction_id}/cancel": {
      "post": {
        "summary": "Cancel",
        "operationId": "cancel_predictions__prediction_id__cancel_post",
        "parameters": [
          {
            "required": true,
            "schema": {
              "title": "Prediction Id",
              "type": "string",
            },
            "name": "prediction_id",
            "in": "path",
          },
        ],
        "responses": {
          "200": {
            "description": "Successful Response",
            "content": {
              "application/json": {
                "schema": {},
              },
            },
          },
          "422": {
            "description": "Validation Error",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HTTPValidationError",
                },
              },
            },
          },
        },
      },
    },
  },
  "components": {
    "schemas": {
      "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
          "prompt": {
            "title": "Prompt",
            "type": "string",
            "description": "Text prompt",
            "x-order": 0,
          },
          "width": {
            "title": "Width",
            "type": "integer",
            "description": "Output width",
            "default": 512,
            "minimum": 256,
            "maximum": 1024,
            "x-order": 1,
          },
          "image": {
            "title": "Image",
            "type": "string",
            "format": "uri",
            "description": "Reference image",
            "x-order": 2,
          },
        },
        "required": [
          "prompt",
          "image",
        ],
      },
      "Output": {
        "title": "Output",
        "type": "array",
        "items": {
          "type": "string",
        },
        "x-cog-array-type": "iterator",
      },
      "PredictionRequest": {
        "title": "PredictionRequest",
        "type": "object",
        "properties": {
          "id": {
            "title": "Id",
            "type": "string",
          },
          "input": {
            "$ref": "#/components/schemas/Input",
          },
        },
      },
      "PredictionResponse": {
        "title": "PredictionResponse",
        "type": "object",
        "properties": {
          "input": {
            "$ref": "#/components/schemas/Input",
          },
          "output": {
            "$ref": "#/components/schemas/Output",
          },
          "id": {
            "title": "Id",
            "type": "string",
          },
          "version": {
            "title": "Version",
            "type": "string",
          },
          "created_at": {
            "title": "Created At",
            "type": "string",
            "format": "date-time",
          },
          "started_at": {
            "title": "Started At",
            "type": "string",
            "format": "date-time",
          },
          "completed_at": {
            "title": "Completed At",
            "type": "string",
            "format": "date-time",
          },
          "status": {
            "title": "Status",
            "type": "string",
          },
          "error": {
            "title": "Error",
            "type": "string",
          },
          "logs": {
            "title": "Logs",
            "type": "string",
          },
          "metrics": {
            "title": "Metrics",
            "type": "object",
          },
        },
      },
      "Status": {
        "title": "Status",
        "description": "An enumeration.",
        "type": "string",
        "enum": [
          "starting",
          "processing",
          "succeeded",
          "canceled",
          "failed",
        ],
      },
      "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
          "detail": {
            "title": "Detail",
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ValidationError",
            },
          },
        },
      },
      "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "required": [
          "loc",
          "msg",
          "type",
        ],
        "properties": {
          "loc": {
            "title": "Location",
            "type": "array",
            "items": {
              "anyOf": [
                {
                  "type": "string",
                },
                {
                  "type": "integer",
                },
              ],
            },
          },
          "msg": {
            "title": "Message",
            "type": "string",
          },
          "type": {
            "title": "Error Type",
            "type": "string",
          },
        },
      },
    },
  },
};
