package dev.mediagate.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import dev.mediagate.example.UploadExample;
import dev.mediagate.v1.Account;
import dev.mediagate.v1.BatchUploadSpec;
import dev.mediagate.v1.GetImageRequest;
import dev.mediagate.v1.GetImageResponse;
import dev.mediagate.v1.GetUploadStatusRequest;
import dev.mediagate.v1.GetUploadStatusResponse;
import dev.mediagate.v1.MediaCategory;
import dev.mediagate.v1.MediaMetadata;
import dev.mediagate.v1.MediaQueryServiceGrpc;
import dev.mediagate.v1.MediaUploadServiceGrpc;
import dev.mediagate.v1.ProcessingState;
import dev.mediagate.v1.SensitiveWarning;
import dev.mediagate.v1.SetMediaMetadataRequest;
import dev.mediagate.v1.UploadImageMultipleTimesRequest;
import dev.mediagate.v1.UploadImageMultipleTimesResponse;
import dev.mediagate.v1.UploadPhase;
import dev.mediagate.v1.UploadProgress;
import dev.mediagate.v1.UploadRequest;
import dev.mediagate.v1.UploadResponse;
import dev.mediagate.v1.UploadResult;
import dev.mediagate.v1.UploadSpec;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated Java stubs against the real server, one call shape per test. */
class InteropTest {
  private static final Account DEMO = Account.newBuilder().setName("demo").build();
  private static final int CHUNK = 256 * 1024;

  private static GatewayServer server;
  private static ManagedChannel channel;

  @BeforeAll
  static void startServer() throws Exception {
    server = GatewayServer.start();
    channel = Grpc.newChannelBuilder(server.target, InsecureChannelCredentials.create()).build();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  static byte[] samplePng() throws Exception {
    BufferedImage image = new BufferedImage(320, 200, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 200; y++) {
      for (int x = 0; x < 320; x++) {
        image.setRGB(x, y, (x << 16) | (y << 8) | (x ^ y) & 0xff);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  static byte[] box(String kind, byte[] payload) {
    return ByteBuffer.allocate(8 + payload.length)
        .putInt(8 + payload.length)
        .put(kind.getBytes(StandardCharsets.US_ASCII))
        .put(payload)
        .array();
  }

  /** An MP4 of exactly {@code size} bytes: ftyp, moov/mvhd (faststart, timescale 1000), mdat. */
  static byte[] sampleMp4(int size, int durationMs) {
    byte[] ftyp = box("ftyp", "isom\0\0\2\0isomiso2avc1mp41".getBytes(StandardCharsets.ISO_8859_1));
    byte[] mvhd = ByteBuffer.allocate(100).putInt(12, 1000).putInt(16, durationMs).array();
    byte[] moov = box("moov", box("mvhd", mvhd));
    byte[] mdat = new byte[size - ftyp.length - moov.length - 8];
    ThreadLocalRandom.current().nextBytes(mdat);
    return ByteBuffer.allocate(size).put(ftyp).put(moov).put(box("mdat", mdat)).array();
  }

  static UploadSpec spec(MediaCategory category, byte[] data) {
    return UploadSpec.newBuilder()
        .setMediaCategory(category)
        .setTotalBytes(data.length)
        .setAccount(DEMO)
        .build();
  }

  static <T> StreamObserver<T> completing(CompletableFuture<T> future) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        future.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        future.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    };
  }

  static UploadResult upload(UploadSpec spec, byte[] data) throws Exception {
    CompletableFuture<UploadResponse> response = new CompletableFuture<>();
    StreamObserver<UploadRequest> requests =
        MediaUploadServiceGrpc.newStub(channel)
            .withDeadlineAfter(60, TimeUnit.SECONDS)
            .upload(completing(response));
    requests.onNext(UploadRequest.newBuilder().setSpec(spec).build());
    for (int i = 0; i < data.length; i += CHUNK) {
      ByteString chunk = ByteString.copyFrom(data, i, Math.min(CHUNK, data.length - i));
      requests.onNext(UploadRequest.newBuilder().setChunk(chunk).build());
    }
    requests.onCompleted();
    try {
      return response.get().getResult();
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  static void checkMediaId(UploadResult r) {
    assertTrue(r.getSuccess(), r.getErrorMsg());
    assertTrue(r.getMediaId() > 0);
    assertEquals(Long.toString(r.getMediaId()), r.getMediaIdString());
  }

  @Test
  void uploadsAnImage() throws Exception {
    byte[] png = samplePng();
    UploadResult r = upload(spec(MediaCategory.MEDIA_CATEGORY_TWEET_IMAGE, png), png);
    checkMediaId(r);
    assertEquals("image/png", r.getMediaType());
    assertEquals(png.length, r.getSize());
    assertFalse(r.hasProcessingInfo());
  }

  @Test
  void uploadsAVideoInChunksWithProgress(@TempDir Path dir) throws Exception {
    byte[] mp4 = sampleMp4(5 * 1024 * 1024 + 321, 3100);
    Path file = dir.resolve("sample.mp4");
    Files.write(file, mp4);
    List<UploadProgress> events = new ArrayList<>();
    UploadResult r =
        UploadExample.upload(
            channel, file, MediaCategory.MEDIA_CATEGORY_AMPLIFY_VIDEO, "demo", events::add);
    checkMediaId(r);
    assertEquals("video/mp4", r.getMediaType());
    assertEquals(ProcessingState.PROCESSING_STATE_SUCCEEDED, r.getProcessingInfo().getState());

    Set<UploadPhase> phases = new HashSet<>();
    UploadProgress previous = null;
    for (UploadProgress p : events) {
      phases.add(p.getPhase());
      assertEquals(mp4.length, p.getTotalBytes());
      assertTrue(p.getBytesAcknowledged() <= p.getBytesReceived(), p.toString());
      if (previous != null) {
        assertTrue(p.getPhaseValue() >= previous.getPhaseValue(), "phase went back: " + p);
        assertTrue(p.getBytesReceived() >= previous.getBytesReceived(), p.toString());
      }
      previous = p;
    }
    assertTrue(phases.contains(UploadPhase.UPLOAD_PHASE_UPLOADING), phases.toString());
    assertTrue(phases.contains(UploadPhase.UPLOAD_PHASE_PROCESSING), phases.toString());
    assertTrue(phases.contains(UploadPhase.UPLOAD_PHASE_DONE), phases.toString());
    UploadProgress last = events.get(events.size() - 1);
    assertEquals(mp4.length, last.getBytesAcknowledged());
    assertTrue(last.getSegmentsTotal() >= 2, last.toString());
    assertEquals(last.getSegmentsTotal(), last.getSegmentsDone());
    assertEquals(r.getMediaIdString(), last.getMediaIdString());

    GetUploadStatusResponse status =
        MediaUploadServiceGrpc.newBlockingStub(channel)
            .getUploadStatus(
                GetUploadStatusRequest.newBuilder()
                    .setMediaId(r.getMediaIdString())
                    .setAccount(DEMO)
                    .build());
    assertEquals(ProcessingState.PROCESSING_STATE_SUCCEEDED, status.getProcessingInfo().getState());
  }

  @Test
  void uploadsOneImageThreeTimes() throws Exception {
    byte[] png = samplePng();
    CompletableFuture<UploadImageMultipleTimesResponse> response = new CompletableFuture<>();
    StreamObserver<UploadImageMultipleTimesRequest> requests =
        MediaUploadServiceGrpc.newStub(channel)
            .withDeadlineAfter(60, TimeUnit.SECONDS)
            .uploadImageMultipleTimes(completing(response));
    BatchUploadSpec batch =
        BatchUploadSpec.newBuilder()
            .setUpload(spec(MediaCategory.MEDIA_CATEGORY_DM_IMAGE, png))
            .setCount(3)
            .build();
    requests.onNext(UploadImageMultipleTimesRequest.newBuilder().setSpec(batch).build());
    requests.onNext(
        UploadImageMultipleTimesRequest.newBuilder().setChunk(ByteString.copyFrom(png)).build());
    requests.onCompleted();
    UploadImageMultipleTimesResponse out = response.get(60, TimeUnit.SECONDS);
    assertEquals(3, out.getSuccessCount());
    assertEquals(0, out.getFailureCount());
    Set<String> ids = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < out.getResultsCount(); i++) {
      UploadResult r = out.getResults(i);
      checkMediaId(r);
      assertEquals(r.getMediaIdString(), out.getMediaIds(i));
      ids.add(r.getMediaIdString());
      hashes.add(r.getSha256());
    }
    assertEquals(3, ids.size());
    assertEquals(3, hashes.size());
  }

  @Test
  void setsMediaMetadata() throws Exception {
    byte[] png = samplePng();
    UploadResult r = upload(spec(MediaCategory.MEDIA_CATEGORY_TWEET_IMAGE, png), png);
    checkMediaId(r);
    var stub = MediaUploadServiceGrpc.newBlockingStub(channel);
    SetMediaMetadataRequest.Builder request =
        SetMediaMetadataRequest.newBuilder().setMediaId(r.getMediaIdString()).setAccount(DEMO);
    MediaMetadata metadata =
        MediaMetadata.newBuilder()
            .addSensitiveWarnings(SensitiveWarning.SENSITIVE_WARNING_GRAPHIC_VIOLENCE)
            .setSelfReportedAiGenerated(true)
            .setBlockGrokEdit(true)
            .setAllowDownload(false)
            .setAltText("a gradient drawn by the Java interop test")
            .build();
    assertTrue(stub.setMediaMetadata(request.setMetadata(metadata).build()).getSent());
    assertFalse(
        stub.setMediaMetadata(request.setMetadata(MediaMetadata.getDefaultInstance()).build())
            .getSent());
  }

  @Test
  void getImageResolvesBase64AndUploadTokens() throws Exception {
    byte[] png = samplePng();
    var query = MediaQueryServiceGrpc.newBlockingStub(channel);
    GetImageResponse got;
    try {
      got =
          query.getImage(
              GetImageRequest.newBuilder()
                  .setFile("base64://" + Base64.getEncoder().encodeToString(png))
                  .setIncludeBase64(true)
                  .build());
    } catch (StatusRuntimeException e) {
      Assumptions.assumeFalse(
          e.getStatus().getCode() == Status.Code.UNIMPLEMENTED,
          "this server does not implement MediaQueryService.GetImage yet");
      throw e;
    }
    assertFalse(got.getFile().isEmpty());
    assertEquals(png.length, got.getSize());
    assertEquals("image/png", got.getMediaType());
    assertArrayEquals(png, got.getBase64().toByteArray());
    assertFalse(got.getFileToken().isEmpty());

    UploadResult r = upload(spec(MediaCategory.MEDIA_CATEGORY_TWEET_IMAGE, png), png);
    checkMediaId(r);
    GetImageResponse byToken =
        query.getImage(GetImageRequest.newBuilder().setFile(r.getFileToken()).build());
    assertEquals(r.getMediaIdString() + ".png", byToken.getFilename());
    assertEquals(r.getSha256(), byToken.getSha256());
  }

  @Test
  void badRequestNamesTheField() throws Exception {
    byte[] png = samplePng();
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> upload(spec(MediaCategory.MEDIA_CATEGORY_AMPLIFY_VIDEO, png), png));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    if (status == null) {
      fail("no status details in " + e);
    }
    List<String> fields = new ArrayList<>();
    ErrorInfo info = null;
    for (Any detail : status.getDetailsList()) {
      if (detail.is(BadRequest.class)) {
        detail.unpack(BadRequest.class).getFieldViolationsList().forEach(v -> fields.add(v.getField()));
      } else if (detail.is(ErrorInfo.class)) {
        info = detail.unpack(ErrorInfo.class);
      }
    }
    assertEquals(List.of("spec.media_category"), fields);
    assertTrue(info != null && info.getDomain().equals("mediagate.dev"), String.valueOf(info));

    UploadSpec nobody =
        spec(MediaCategory.MEDIA_CATEGORY_TWEET_IMAGE, png).toBuilder()
            .setAccount(Account.newBuilder().setName("nobody"))
            .build();
    StatusRuntimeException missing =
        assertThrows(StatusRuntimeException.class, () -> upload(nobody, png));
    assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode());
  }
}
