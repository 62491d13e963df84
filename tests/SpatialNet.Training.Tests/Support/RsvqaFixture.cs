namespace SpatialNet.Training.Tests.Support;

/// <summary>
/// A tiny RSVQA-LR-format dataset written as literal JSON, with the real release's quirks: ids that
/// are not array positions, bare inactive entries, an inactive image with a question, double spaces,
/// a question without '?', answers listed in another order than their questions.
/// </summary>
internal static class RsvqaFixture
{
    public const string Images = """
        {"images": [
          {"id": 7, "original_name": "S2_a.tif", "sensor": "S2", "type": "RGB", "questions_ids": [100, 101, 102, 103, 104], "active": true},
          {"id": 3, "active": false},
          {"id": 12, "original_name": "S2_b.tif", "sensor": "S2", "type": "RGB", "questions_ids": [105, 106], "active": true},
          {"id": 5, "original_name": "S2_c.tif", "sensor": "S2", "type": "RGB", "questions_ids": [107], "active": false}
        ]}
        """;

    public const string Questions = """
        {"questions": [
          {"id": 100, "img_id": 7, "type": "rural_urban", "question": "Is it a rural or an urban area", "answers_ids": [200], "active": true},
          {"id": 101, "img_id": 7, "type": "presence", "question": "Is there a  forest in the image?", "answers_ids": [201], "active": true},
          {"id": 110, "active": false},
          {"id": 102, "img_id": 7, "type": "count", "question": "How many buildings are there", "answers_ids": [202], "active": true},
          {"id": 103, "img_id": 7, "type": "comp", "question": "Are there more roads than water areas?", "answers_ids": [203], "active": true},
          {"id": 104, "img_id": 7, "type": "presence", "question": "Is there a road on the Left side?", "answers_ids": [204], "active": true},
          {"id": 105, "img_id": 12, "type": "count", "question": "What is the number of roads?", "answers_ids": [205], "active": true},
          {"id": 106, "img_id": 12, "type": "count", "question": "How many houses?", "answers_ids": [206], "active": true},
          {"id": 107, "img_id": 5, "type": "presence", "question": "Is there a farm?", "answers_ids": [207], "active": true}
        ]}
        """;

    public const string Answers = """
        {"answers": [
          {"id": 206, "question_id": 106, "answer": "1500", "active": true},
          {"id": 999, "active": false},
          {"id": 200, "question_id": 100, "answer": "rural", "active": true},
          {"id": 201, "question_id": 101, "answer": "yes", "active": true},
          {"id": 202, "question_id": 102, "answer": "13", "active": true},
          {"id": 203, "question_id": 103, "answer": "no", "active": true},
          {"id": 204, "question_id": 104, "answer": "yes", "active": true},
          {"id": 205, "question_id": 105, "answer": "0", "active": true},
          {"id": 207, "question_id": 107, "answer": "no", "active": true}
        ]}
        """;

    /// <summary>Pixel value of image <paramref name="id"/> at band c, row y, column x.</summary>
    public static byte Pixel(int id, int c, int y, int x) => (byte)(id * 10 + c * 50 + y * 3 + x);

    public static void Write(string root, string prefix = "LR", string split = "train", string imageFolder = "Images_LR",
        string? images = null, string? questions = null, string? answers = null, int bands = 3)
    {
        Directory.CreateDirectory(Path.Combine(root, imageFolder));
        File.WriteAllText(Path.Combine(root, $"{prefix}_split_{split}_images.json"), images ?? Images);
        File.WriteAllText(Path.Combine(root, $"{prefix}_split_{split}_questions.json"), questions ?? Questions);
        File.WriteAllText(Path.Combine(root, $"{prefix}_split_{split}_answers.json"), answers ?? Answers);
        foreach (var id in new[] { 7, 12 })
        {
            const int size = 8;
            var planar = new byte[bands * size * size];
            for (var c = 0; c < bands; c++)
                for (var y = 0; y < size; y++)
                    for (var x = 0; x < size; x++) planar[(c * size + y) * size + x] = Pixel(id, c, y, x);
            TestTiff.WriteRgb(Path.Combine(root, imageFolder, $"{id}.tif"), planar, size, size, bands);
        }
    }
}
