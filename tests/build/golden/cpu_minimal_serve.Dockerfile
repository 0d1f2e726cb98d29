FROM python:3.11-slim
COPY --from=cog-runtime:0.1.0-0123456789abcdef / /
ENV DEBIAN_FRONTEND=noninteractive
ENV PYTHONUNBUFFERED=1
ENV LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:/usr/local/nvidia/bin
ENV NVIDIA_DRIVER_CAPABILITIES=all
ENV COG_PYTHON_DIR=/opt/cog/python PATH=/opt/cog/bin:$PATH
WORKDIR /src
EXPOSE 5000
ENV COG_PREDICT_TYPE_STUB="predict.py:Predictor"
CMD ["cog", "serve", "--no-docker", "--host", "0.0.0.0", "-p", "5000"]
